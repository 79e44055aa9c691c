import Foundation

/// A self-contained HTML page: styles inline, charts as inline SVG, no scripts and nothing
/// loaded from elsewhere, so a report opens anywhere (a browser, a mail attachment, offline).
public enum HTMLPage {
    /// Text made safe for HTML content and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// The whole document around `body` (already HTML).
    public static func document(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>
          :root { color-scheme: light dark; --muted: #666; --gold: #b8f0c0; --pred: #ffe28a; --both: #9fd8ff; }
          @media (prefers-color-scheme: dark) { :root { --muted: #aaa; --gold: #1f5f2a; --pred: #6b5200; --both: #16507a; } }
          body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
          main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
          h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
          table { border-collapse: collapse; margin: .5rem 0; }
          th, td { border-bottom: 1px solid #8884; padding: .3rem .6rem; text-align: left; vertical-align: top; }
          td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
          .muted { color: var(--muted); }
          .big { font-size: 1.6rem; font-weight: 600; }
          .cards { display: flex; flex-wrap: wrap; gap: 1rem; }
          .card { border: 1px solid #8886; border-radius: .4rem; padding: .5rem 1rem; min-width: 9rem; }
          svg { max-width: 100%; height: auto; }
          mark { color: inherit; border-radius: .2em; padding: 0 .1em; }
          mark.gold { background: var(--gold); } mark.pred { background: var(--pred); } mark.both { background: var(--both); }
          .context { white-space: pre-wrap; overflow-wrap: anywhere; max-width: 40rem; }
          .key mark { display: inline-block; min-width: 1.5em; }
        </style>
        </head>
        <body>
        <main>
        \(body)
        </main>
        </body>
        </html>

        """
    }

    /// A two-column table of labels and values (values already HTML).
    public static func facts(_ rows: [(String, String)], id: String? = nil) -> String {
        var out = "<table\(id.map { " id=\"\($0)\"" } ?? "")>\n"
        for (label, value) in rows { out += "<tr><th>\(escape(label))</th><td>\(value)</td></tr>\n" }
        return out + "</table>\n"
    }
}
