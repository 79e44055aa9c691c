# A loopback stand-in for the Hugging Face Hub serving the tiny RoBERTa fixture as deepset/tiny-roberta-squad2,
# with the headers huggingface_hub reads; used by check.sh. Usage: fake_hub.py REPO_ROOT PORT
import hashlib, json, os, sys
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
root = sys.argv[1]; port = int(sys.argv[2])
fix = root + "/Tests/Fixtures"
files = {}
for n in ["config.json", "model.safetensors"]:
    files[n] = open(f"{fix}/architectures/roberta/model/{n}", "rb").read()
for n in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"]:
    files[n] = open(f"{fix}/tokenizers/roberta/{n}", "rb").read()
REPO = "deepset/tiny-roberta-squad2"; COMMIT = "ab" * 20
lfs = {"model.safetensors"}
def gitsha(b): return hashlib.sha1(b"blob %d\0" % len(b) + b).hexdigest()
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def send(self, code, headers, body=b""):
        self.send_response(code)
        for k, v in headers.items(): self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    def route(self):
        p = self.path.split("?")[0]
        if p.startswith(f"/api/models/{REPO}/revision/"):
            body = json.dumps({"id": REPO, "sha": COMMIT, "siblings": [{"rfilename": n} for n in files]}).encode()
            return self.send(200, {"Content-Type": "application/json", "Content-Length": str(len(body))}, body)
        pre = f"/{REPO}/resolve/"
        if p.startswith(pre):
            rev, name = p[len(pre):].split("/", 1)
            data = files[name]
            h = {"X-Repo-Commit": COMMIT}
            if name in lfs:
                sha = hashlib.sha256(data).hexdigest()
                h.update({"X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(data)), "ETag": f'"{gitsha(sha.encode())}"',
                          "Location": f"http://127.0.0.1:{port}/cdn/{sha}", "Content-Length": "0"})
                return self.send(302, h)
            h.update({"ETag": f'"{gitsha(data)}"', "Content-Length": str(len(data))})
            return self.send(200, h, data)
        if p.startswith("/cdn/"):
            sha = p[5:]
            data = next(d for d in files.values() if hashlib.sha256(d).hexdigest() == sha)
            return self.send(200, {"Content-Length": str(len(data)), "ETag": f'"{sha}"'}, data)
        self.send(404, {"X-Error-Code": "RepoNotFound", "Content-Length": "0"})
    do_GET = route; do_HEAD = route
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
