#!/usr/bin/env python3
"""The recipes in policy/examples run real jobs offline: pip install into a
venv from a local index, npm ci from a local registry, go build and go test
with a private cache, make test with a writable build/ and read-only
sources. Each index or registry is started by the test on the recipe's
loopback port; each recipe's refusal is checked on the host beside the job
succeeding."""
import base64
import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbtest import SOURCE_ROOT, eq, litebox, run, skip, test, tmpdir  # noqa: E402

EXAMPLES = os.path.join(SOURCE_ROOT, "policy", "examples")


def recipe(name):
    return os.path.join(EXAMPLES, name + ".policy")


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w" if isinstance(text, str) else "wb") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def read(path):
    with open(path) as f:
        return f.read()


class Server:
    """A static HTTP server over a directory on 127.0.0.1:port, outside the
    sandbox, recording the paths it was asked for."""

    def __init__(self, root, port):
        hits = self.hits = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=root, **kw)

            def do_GET(self):
                hits.append(self.path)
                super().do_GET()

            def log_message(self, *a):
                pass

        try:
            self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        except OSError as e:
            skip(f"the recipe's port 127.0.0.1:{port} is in use on this machine ({e.strerror})")
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def listener():
    """Another loopback service the job must not reach: (socket, port)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    s.settimeout(0.5)
    return s, s.getsockname()[1]


def accepted(s):
    try:
        s.accept()[0].close()
        return True
    except OSError:
        return False


def job_env(d, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "npm_", "GO", "PYENV_DIR"))}
    env.update(PWD=d, TMPDIR=tmpdir(), **extra)
    return env


# ---- pip -----------------------------------------------------------------------------------

def tiny_wheel(path):
    """lbtest_hello-1.0-py3-none-any.whl, written by hand (a wheel is a zip
    with metadata), so that making it needs no network and no build backend."""
    files = {
        "lbtest_hello/__init__.py": "GREETING = 'hello from the local index'\n",
        "lbtest_hello-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: lbtest-hello\nVersion: 1.0\n",
        "lbtest_hello-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: litebox-test\n"
                                           "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append("lbtest_hello-1.0.dist-info/RECORD,,")
    files["lbtest_hello-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)


@test
def pip_install_into_venv_from_local_index():
    py = shutil.which("python3")
    d = tmpdir()
    if subprocess.run([py, "-m", "venv", os.path.join(d, ".venv")], capture_output=True).returncode:
        skip("python3 -m venv does not work natively here (python3-venv missing)")
    index = tmpdir()
    os.makedirs(os.path.join(index, "packages"))
    tiny_wheel(os.path.join(index, "packages", "lbtest_hello-1.0-py3-none-any.whl"))
    write(os.path.join(index, "simple", "lbtest-hello", "index.html"),
          '<a href="../../packages/lbtest_hello-1.0-py3-none-any.whl">lbtest_hello-1.0-py3-none-any.whl</a>\n')
    write(os.path.join(d, "requirements.txt"), "lbtest-hello==1.0\n")
    srv = Server(index, 3141)
    other, port = listener()
    try:
        script = (".venv/bin/pip install -q -r requirements.txt && "
                  ".venv/bin/python -c 'import lbtest_hello; print(lbtest_hello.GREETING)'; "
                  "echo x >> requirements.txt; "
                  f".venv/bin/python -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}))'")
        p = litebox("run", "-p", recipe("pip-install-venv"), "--", "sh", "-c", script,
                    cwd=d, env=job_env(d), timeout=300)
    finally:
        srv.close()
    assert "hello from the local index" in p.stdout, "pip installed from the index: " + p.stderr[-3000:]
    assert any(h.endswith(".whl") for h in srv.hits), srv.hits
    site = [r for r, _, fs in os.walk(os.path.join(d, ".venv")) if "__init__.py" in fs and r.endswith("lbtest_hello")]
    assert site, "the package is in the venv on the host"
    eq(read(os.path.join(d, "requirements.txt")), "lbtest-hello==1.0\n", "sources unchanged")
    assert not accepted(other), "another loopback service was reached"
    assert "denied connect tcp 127.0.0.1:%d" % port in p.stderr, p.stderr[-2000:]


# ---- npm -----------------------------------------------------------------------------------

def npm_tarball():
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as t:
        for name, text in {"package/package.json": '{"name":"lbtest-hello","version":"1.0.0","main":"index.js"}\n',
                           "package/index.js": "module.exports = 'hello from the local registry';\n"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            info.mode = 0o644
            t.addfile(info, io.BytesIO(text.encode()))
    return data.getvalue()


@test
def npm_ci_from_local_registry():
    if not shutil.which("npm") or not shutil.which("node"):
        skip("node and npm are not installed")
    tgz = npm_tarball()
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()
    url = "http://127.0.0.1:4873/lbtest-hello/-/lbtest-hello-1.0.0.tgz"
    registry = tmpdir()
    write(os.path.join(registry, "lbtest-hello", "-", "lbtest-hello-1.0.0.tgz"), tgz)
    write(os.path.join(registry, "lbtest-hello", "index.html"), json.dumps({
        "name": "lbtest-hello", "dist-tags": {"latest": "1.0.0"},
        "versions": {"1.0.0": {"name": "lbtest-hello", "version": "1.0.0",
                               "dist": {"tarball": url, "integrity": integrity}}}}))
    d = tmpdir()
    write(os.path.join(d, "package.json"), json.dumps(
        {"name": "app", "version": "1.0.0", "dependencies": {"lbtest-hello": "1.0.0"}}))
    write(os.path.join(d, "package-lock.json"), json.dumps({
        "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
        "packages": {"": {"name": "app", "version": "1.0.0", "dependencies": {"lbtest-hello": "1.0.0"}},
                     "node_modules/lbtest-hello": {"version": "1.0.0", "resolved": url,
                                                   "integrity": integrity}}}))
    lock = read(os.path.join(d, "package-lock.json"))
    srv = Server(registry, 4873)
    try:
        p = litebox("run", "-p", recipe("npm-ci"), "--", "sh", "-c",
                    "npm ci --no-progress && node -e 'console.log(require(\"lbtest-hello\"))'",
                    cwd=d, env=job_env(d), timeout=300)
    finally:
        srv.close()
    assert "hello from the local registry" in p.stdout, "npm ci: " + p.stderr[-3000:]
    assert os.path.exists(os.path.join(d, "node_modules", "lbtest-hello", "index.js"))
    assert any(h.endswith(".tgz") for h in srv.hits), srv.hits
    eq(read(os.path.join(d, "package-lock.json")), lock, "the lock file is unchanged")


# ---- go ------------------------------------------------------------------------------------

@test
def go_build_and_test_with_private_cache():
    go = shutil.which("go")
    if not go:
        skip("go is not installed")
    d = tmpdir()
    write(os.path.join(d, "go.mod"), "module example.com/hello\n\ngo 1.18\n")
    write(os.path.join(d, "main.go"), 'package main\n\nfunc greeting() string { return "hello" }\n\n'
          'func main() { println(greeting()) }\n')
    write(os.path.join(d, "main_test.go"), 'package main\n\nimport "testing"\n\n'
          'func TestGreeting(t *testing.T) {\n\tif greeting() != "hello" {\n\t\tt.Fatal("no")\n\t}\n}\n')
    env = job_env(d, GOCACHE=os.path.join(d, ".cache", "go-build"), GOPROXY="off", GOFLAGS="")
    # Warm the private cache with the standard library natively, as a CI
    # cache step would restore it; the job still compiles and links its own code.
    warm = subprocess.run([go, "build", "-o", os.devnull, "."], cwd=d, env=env, capture_output=True, text=True)
    if warm.returncode:
        skip("go build fails natively: " + warm.stderr[-500:])
    source = read(os.path.join(d, "main.go")).replace('"hello"', '"hello"  ')
    write(os.path.join(d, "main.go"), source)
    p = litebox("run", "-p", recipe("go-build"), "--", "sh", "-c",
                "go build -o bin/hello . && bin/hello && go test ./... && echo x >> main.go",
                cwd=d, env=job_env(d), timeout=600)
    assert os.path.exists(os.path.join(d, "bin", "hello")), "go build: " + p.stderr[-3000:]
    assert "hello" in p.stderr.splitlines(), "bin/hello ran (println writes to stderr): " + p.stderr[-3000:]
    assert "hpage_pmd_size" not in p.stderr, "Go's runtime reads its memory facts"
    assert "ok  \texample.com/hello" in p.stdout, "go test ran its binary from $TMPDIR: " + p.stdout + p.stderr[-3000:]
    eq(read(os.path.join(d, "main.go")), source, "sources unchanged")
    assert "denied write" in p.stderr and "main.go" in p.stderr, p.stderr[-2000:]


# ---- make ----------------------------------------------------------------------------------

@test
def make_test_writes_only_build():
    if not shutil.which("make") or not shutil.which("cc"):
        skip("make and cc are not installed")
    d = tmpdir()
    write(os.path.join(d, "src", "hello.c"), '#include <stdio.h>\nint main(void){puts("hello from build");return 0;}\n')
    write(os.path.join(d, "Makefile"),
          "build/hello: src/hello.c\n\tmkdir -p build\n\tcc -O1 -o $@ $<\n\n"
          "test: build/hello\n\t./build/hello\n\n"
          "sneaky:\n\techo '#define PWNED 1' > src/config.h\n\n.PHONY: test sneaky\n")
    p = litebox("run", "-p", recipe("make-test"), "--", "make", "test", cwd=d, env=job_env(d), timeout=300)
    eq(p.returncode, 0, "make test: " + p.stderr[-3000:])
    assert "hello from build" in p.stdout, p.stdout
    assert os.access(os.path.join(d, "build", "hello"), os.X_OK), "the binary is on the host"
    p = litebox("run", "-p", recipe("make-test"), "--", "make", "sneaky", cwd=d, env=job_env(d))
    assert p.returncode != 0 and not os.path.exists(os.path.join(d, "src", "config.h")), "sources are read-only"
    assert f"denied write {os.path.realpath(d)}/src/config.h" in p.stderr, p.stderr


if __name__ == "__main__":
    run()
