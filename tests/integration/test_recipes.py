#!/usr/bin/env python3
"""The recipes in policy/examples run real jobs offline: pip install into a
venv from the package index reached by name, npm ci from the registry
reached by name, go build and go test with a private cache, make test with
a writable build/ and read-only sources. The index and the registry keep
their real names (pypi.org, files.pythonhosted.org, registry.npmjs.org):
the test's own nameserver (LITEBOX_RESOLV_CONF) maps them to a loopback
address where the test serves HTTPS with a certificate of its own CA. Each
job succeeds under its recipe, unchanged, and beside it a write and a
connect outside the recipe are refused, with a record, and checked on the
host (the file's bytes, the listener's count, the nameserver's log)."""
import base64
import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tarfile
import threading
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbtest import SOURCE_ROOT, eq, litebox, run, skip, test, tmpdir  # noqa: E402
from lbdns import Listener, start_nameserver  # noqa: E402

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


def openssl(*args):
    p = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if p.returncode:
        skip("openssl cannot make the test's certificates: " + p.stderr[-300:])


def make_certs(d, names):
    """A CA of the test's (ca.pem) and a certificate for names signed by it
    (cert.pem, key.pem), in d."""
    if not shutil.which("openssl"):
        skip("openssl is not installed (the test serves HTTPS with its own CA)")
    j = lambda f: os.path.join(d, f)  # noqa: E731
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=litebox test CA",
            "-keyout", j("ca.key"), "-out", j("ca.pem"),
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + names[0],
            "-keyout", j("key.pem"), "-out", j("req.csr"))
    write(j("ext.cnf"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
          "extendedKeyUsage=serverAuth\nsubjectAltName=" + ",".join("DNS:" + n for n in names) + "\n")
    openssl("x509", "-req", "-in", j("req.csr"), "-CA", j("ca.pem"), "-CAkey", j("ca.key"),
            "-CAcreateserial", "-days", "2", "-extfile", j("ext.cnf"), "-out", j("cert.pem"))
    return j("ca.pem")


class Mirror:
    """The real index's or registry's names, served offline, outside the
    sandbox: the test's nameserver (at NET.1) maps each of names to NET.2,
    where an HTTPS server with a certificate for them serves root and
    records the paths asked for. elsewhere.example.test maps to NET.3,
    where a listener on port 443 counts connections: a host the recipe
    does not name."""

    def __init__(self, root, names):
        self.net, self.ns = start_nameserver(lambda net: dict(
            {n: [net + ".2"] for n in names}, **{"elsewhere.example.test": [net + ".3"]}), skip)
        self.dir = tmpdir()
        os.chmod(self.dir, 0o755)
        self.ca = make_certs(self.dir, names)
        hits = self.hits = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=root, **kw)

            def do_GET(self):
                hits.append(self.path)
                super().do_GET()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer((self.net + ".2", 443), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem"))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.elsewhere = Listener(self.net + ".3", 443)
        self.conf = write(os.path.join(self.dir, "resolv.conf"),
                          f"nameserver {self.net}.1\noptions timeout:2 attempts:1\n")

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
    """The job's environment: the tools' own settings and this machine's CA
    bundle overrides (REQUESTS_CA_BUNDLE beats pip's --cert) left out."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "npm_", "NPM_", "GO", "PYENV_DIR"))
           and "CA_BUNDLE" not in k and "CERT" not in k}
    env.update(PWD=d, TMPDIR=tmpdir(), **extra)
    return env


def job(name, d, argv, env, timeout=300):
    """Run argv under the recipe name from d with a log: (process, deny records)."""
    log = os.path.join(tmpdir(), "log.jsonl")
    p = litebox("run", "--log", log, "-p", recipe(name), "--", *argv, cwd=d, env=env, timeout=timeout)
    with open(log) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    return p, [r for r in recs if r.get("verdict") == "deny"]


def denied(recs, cls, obj):
    return [r for r in recs if r.get("class") == cls and r.get("object") == obj]


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


NOT_NAMED = r"""
import socket, sys
try:
    socket.getaddrinfo("elsewhere.example.test", 443)
    print("resolved elsewhere")
except socket.gaierror:
    print("elsewhere does not resolve")
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
    print("connected", sys.argv[1])
except OSError as e:
    print("refused", sys.argv[1], e.errno)
"""


@test
def pip_install_into_venv_from_the_index_by_name():
    py = shutil.which("python3")
    d = tmpdir()
    if subprocess.run([py, "-m", "venv", os.path.join(d, ".venv")], capture_output=True).returncode:
        skip("python3 -m venv does not work natively here (python3-venv missing)")
    index = tmpdir()
    os.makedirs(os.path.join(index, "packages"))
    tiny_wheel(os.path.join(index, "packages", "lbtest_hello-1.0-py3-none-any.whl"))
    write(os.path.join(index, "simple", "lbtest-hello", "index.html"),
          '<a href="https://files.pythonhosted.org/packages/lbtest_hello-1.0-py3-none-any.whl">'
          'lbtest_hello-1.0-py3-none-any.whl</a>\n')
    write(os.path.join(d, "requirements.txt"), "lbtest-hello==1.0\n")
    mirror = Mirror(index, ["pypi.org", "files.pythonhosted.org"])
    loop, port = listener()
    env = job_env(d, LITEBOX_RESOLV_CONF=mirror.conf)
    env["PIP_CERT"] = shutil.copy(mirror.ca, env["TMPDIR"])  # the real index's CA, in a real job
    try:
        script = (".venv/bin/pip install -q -r requirements.txt && "
                  ".venv/bin/python -c 'import lbtest_hello; print(lbtest_hello.GREETING)'; "
                  "echo x >> requirements.txt; "
                  f".venv/bin/python -c '{NOT_NAMED}' {mirror.net}.3 443; "
                  f".venv/bin/python -c '{NOT_NAMED}' 127.0.0.1 {port}")
        p, recs = job("pip-install-venv", d, ["sh", "-c", script], env)
    finally:
        mirror.close()
    assert "hello from the local index" in p.stdout, "pip installed from the index: " + p.stderr[-3000:]
    assert "/simple/lbtest-hello/" in mirror.hits and any(h.endswith(".whl") for h in mirror.hits), mirror.hits
    assert {"pypi.org", "files.pythonhosted.org"} <= set(mirror.ns.asked), mirror.ns.asked
    site = [r for r, _, fs in os.walk(os.path.join(d, ".venv")) if "__init__.py" in fs and r.endswith("lbtest_hello")]
    assert site, "the package is in the venv on the host"
    # outside the recipe: the sources, a name it does not allow, an address
    # no allowed name resolved to, another loopback service
    eq(read(os.path.join(d, "requirements.txt")), "lbtest-hello==1.0\n", "sources unchanged")
    assert denied(recs, "write", os.path.realpath(d) + "/requirements.txt"), recs
    assert "elsewhere does not resolve" in p.stdout and "resolved elsewhere" not in p.stdout, p.stdout
    assert "elsewhere.example.test" not in mirror.ns.asked, mirror.ns.asked
    assert denied(recs, "connect", "tcp elsewhere.example.test:*"), recs
    assert f"refused {mirror.net}.3 111" in p.stdout and mirror.elsewhere.count == 0, p.stdout
    assert denied(recs, "connect", f"tcp {mirror.net}.3:443"), recs
    assert f"refused 127.0.0.1 111" in p.stdout and not accepted(loop), "another loopback service was reached"
    assert denied(recs, "connect", f"tcp 127.0.0.1:{port}"), recs


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
def npm_ci_from_the_registry_by_name():
    if not shutil.which("npm") or not shutil.which("node"):
        skip("node and npm are not installed")
    tgz = npm_tarball()
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()
    url = "https://registry.npmjs.org/lbtest-hello/-/lbtest-hello-1.0.0.tgz"
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
    mirror = Mirror(registry, ["registry.npmjs.org"])
    env = job_env(d, LITEBOX_RESOLV_CONF=mirror.conf)
    env["npm_config_cafile"] = shutil.copy(mirror.ca, env["TMPDIR"])  # the registry's CA, in a real job
    elsewhere = (f"fetch('https://elsewhere.example.test/').then(() => console.log('reached elsewhere'),"
                 f" e => console.log('elsewhere:', e.cause && e.cause.code));"
                 f"require('net').connect(443, '{mirror.net}.3').on('connect', () => console.log('reached .3'))"
                 f".on('error', e => console.log('.3:', e.code))")
    try:
        p, recs = job("npm-ci", d, ["sh", "-c",
                                    "npm ci --no-progress && node -e 'console.log(require(\"lbtest-hello\"))';"
                                    "echo x >> package-lock.json; node -e \"$0\"", elsewhere], env)
    finally:
        mirror.close()
    assert "hello from the local registry" in p.stdout, "npm ci: " + p.stdout + p.stderr[-3000:]
    assert os.path.exists(os.path.join(d, "node_modules", "lbtest-hello", "index.js"))
    assert any(h.endswith(".tgz") for h in mirror.hits), mirror.hits
    assert "registry.npmjs.org" in mirror.ns.asked, mirror.ns.asked
    eq(read(os.path.join(d, "package-lock.json")), lock, "the lock file is unchanged")
    assert denied(recs, "write", os.path.realpath(d) + "/package-lock.json"), recs
    assert "elsewhere: ENOTFOUND" in p.stdout, p.stdout + p.stderr[-2000:]
    assert "elsewhere.example.test" not in mirror.ns.asked, mirror.ns.asked
    assert denied(recs, "connect", "tcp elsewhere.example.test:*"), recs
    assert ".3: ECONNREFUSED" in p.stdout and mirror.elsewhere.count == 0, p.stdout
    assert denied(recs, "connect", f"tcp {mirror.net}.3:443"), recs


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
    loop, port = listener()
    p, recs = job("go-build", d, ["bash", "-c", "go build -o bin/hello . && bin/hello && go test ./... && "
                                  f"echo x >> main.go; exec 3<>/dev/tcp/127.0.0.1/{port}"],
                  job_env(d), timeout=600)
    assert os.path.exists(os.path.join(d, "bin", "hello")), "go build: " + p.stderr[-3000:]
    assert "hello" in p.stderr.splitlines(), "bin/hello ran (println writes to stderr): " + p.stderr[-3000:]
    assert "hpage_pmd_size" not in p.stderr, "Go's runtime reads its memory facts"
    assert "ok  \texample.com/hello" in p.stdout, "go test ran its binary from $TMPDIR: " + p.stdout + p.stderr[-3000:]
    eq(read(os.path.join(d, "main.go")), source, "sources unchanged")
    assert denied(recs, "write", os.path.realpath(d) + "/main.go"), recs
    assert not accepted(loop) and denied(recs, "connect", f"tcp 127.0.0.1:{port}"), recs


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
          "sneaky:\n\t-echo '#define PWNED 1' > src/config.h\n"
          "\tbash -c 'exec 3<>/dev/tcp/127.0.0.1/$(PORT)'\n\n.PHONY: test sneaky\n")
    p = litebox("run", "-p", recipe("make-test"), "--", "make", "test", cwd=d, env=job_env(d), timeout=300)
    eq(p.returncode, 0, "make test: " + p.stderr[-3000:])
    assert "hello from build" in p.stdout, p.stdout
    assert os.access(os.path.join(d, "build", "hello"), os.X_OK), "the binary is on the host"
    loop, port = listener()
    p, recs = job("make-test", d, ["make", "sneaky", f"PORT={port}"], job_env(d))
    assert p.returncode != 0 and not os.path.exists(os.path.join(d, "src", "config.h")), "sources are read-only"
    assert f"denied write {os.path.realpath(d)}/src/config.h" in p.stderr, p.stderr
    assert denied(recs, "write", os.path.realpath(d) + "/src/config.h"), recs
    assert not accepted(loop) and denied(recs, "connect", f"tcp 127.0.0.1:{port}"), p.stderr[-2000:]


if __name__ == "__main__":
    run()
