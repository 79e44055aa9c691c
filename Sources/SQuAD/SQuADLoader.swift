import Support

/// Turns a parsed SQuAD document into examples, the way HF's `squad` loading script does:
/// `title` defaults to "", the context is not stripped, `plausible_answers` is ignored.
enum SQuADLoader {
    static func decode(_ root: JSONValue, file: String) throws(SQuADError) -> SQuADDataset {
        var fields = JSONFields(file: file)
        var version: String? = nil
        if let v = root["version"] {
            if case .string(let s) = v { version = s } else if let x = v.number { version = "\(x)" }
        }
        let articles = try fields.array(fields.field(root, "data", at: "$"), at: "$.data")
        var examples: [SQuADExample] = []
        var issues: [AnswerIssue] = []
        for (a, article) in articles.enumerated() {
            let articlePath = "$.data[\(a)]"
            fields.exampleId = nil
            var title = ""
            if case .object = article, let t = article["title"] {
                title = try fields.string(t, at: "\(articlePath).title")
            }
            let paragraphs = try fields.array(fields.field(article, "paragraphs", at: articlePath),
                                              at: "\(articlePath).paragraphs")
            for (p, paragraph) in paragraphs.enumerated() {
                let paragraphPath = "\(articlePath).paragraphs[\(p)]"
                fields.exampleId = nil
                let context = try fields.string(fields.field(paragraph, "context", at: paragraphPath),
                                                at: "\(paragraphPath).context")
                let contextScalars = Array(context.unicodeScalars)
                let qas = try fields.array(fields.field(paragraph, "qas", at: paragraphPath),
                                           at: "\(paragraphPath).qas")
                for (q, qa) in qas.enumerated() {
                    let qaPath = "\(paragraphPath).qas[\(q)]"
                    fields.exampleId = nil
                    let id = try fields.string(fields.field(qa, "id", at: qaPath), at: "\(qaPath).id")
                    fields.exampleId = id
                    let question = try fields.string(fields.field(qa, "question", at: qaPath),
                                                     at: "\(qaPath).question")
                    let answerList = try fields.array(fields.field(qa, "answers", at: qaPath),
                                                      at: "\(qaPath).answers")
                    var answers = Answers()
                    for (k, answer) in answerList.enumerated() {
                        let answerPath = "\(qaPath).answers[\(k)]"
                        let text = try fields.string(fields.field(answer, "text", at: answerPath),
                                                     at: "\(answerPath).text")
                        let start = try fields.int(fields.field(answer, "answer_start", at: answerPath),
                                                   at: "\(answerPath).answer_start")
                        if let kind = check(text: text, start: start, in: contextScalars) {
                            issues.append(AnswerIssue(exampleId: id, answerIndex: k, kind: kind))
                        }
                        answers.text.append(text)
                        answers.answerStart.append(start)
                    }
                    if let flag = qa["is_impossible"] {
                        _ = try fields.bool(flag, at: "\(qaPath).is_impossible")
                    }
                    examples.append(SQuADExample(id: id, title: title, context: context,
                                                 question: question, answers: answers))
                }
            }
        }
        var seen = Set<String>()
        var duplicates: [String] = []
        for example in examples where !seen.insert(example.id).inserted { duplicates.append(example.id) }
        return SQuADDataset(path: file, version: version, examples: examples,
                            answerIssues: issues, duplicateIds: duplicates)
    }

    /// Whether `context[start:start+len(text)] == text`, in code points.
    static func check(text: String, start: Int, in context: [Unicode.Scalar]) -> AnswerIssue.Kind? {
        let length = text.unicodeScalars.count
        guard start >= 0, start + length <= context.count else { return .outsideContext }
        var k = start
        for scalar in text.unicodeScalars {
            if context[k] != scalar { return .textMismatch }
            k += 1
        }
        return nil
    }
}
