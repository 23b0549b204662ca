"""Many Streamlit workers behind Debian's nginx (``python -m explorer serve``).

One ``streamlit run app.py`` per worker on an internal 127.0.0.1 port, and an
unprivileged nginx in front (its own prefix folder: config, pid, logs, temp files; never
/etc/nginx). Affinity without nginx's commercial ``sticky``: a visitor without the
``sfe_worker`` cookie goes to a round-robin group of all workers; every HTML page nginx
sends back sets the cookie to the worker that served it; later requests (the websocket
``/_stcore/stream`` above all) go to that worker's own group, where every other worker
is a ``backup``. So a stopped worker's students fall over to a live one, and the cookie
still names the stopped worker: the live one sees it and says what happened
(``moved_from``, shown by pages/_serving.py).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field

COOKIE = "sfe_worker"           # nginx sets it; names the worker that served the page
WORKER_ENV = "SFE_WORKER"       # each worker's own name (w0, w1, ...), set by start()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # where app.py is
NGINX_PATHS = ("/usr/sbin/nginx",)   # Debian's, not on a normal user's PATH

NGINX_CONF = """\
# Written by `python -m explorer serve` (explorer/serving.py); runs unprivileged with -p {prefix}.
# One process: its round-robin counter alone decides where a new visitor goes, so
# visitors spread evenly over the workers (tests/test_serving.py relies on it).
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}

http {{
    log_format sfe '$remote_addr [$time_local] "$request" $status cookie=$cookie_{cookie} upstream=$upstream_addr';
    access_log {prefix}/access.log sfe;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    client_max_body_size 25m;       # above Streamlit's server.maxUploadSize (20 MB): it gives the message

    # The websocket upgrade: Connection "upgrade" only when the browser asked for one.
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}

    # Affinity: the cookie names a worker -> its own group; none (or unknown) -> round robin.
    map $cookie_{cookie} $sfe_group {{
        default sfe_any;
{route_map}
    }}
    # The worker that answered: the last of $upstream_addr ("a, b" when a failed first).
    map $upstream_addr $sfe_served {{
        default "";
{served_map}
    }}
    # Set the cookie on HTML pages only (a visit, a reload), never on the health and
    # host-config probes the frontend sends before it reconnects: after a failover the
    # cookie still names the stopped worker when the websocket arrives at a live one.
    map $sent_http_content_type $sfe_cookie {{
        default "";
        ~^text/html "{cookie}=$sfe_served; Path=/; SameSite=Lax";
    }}

{upstreams}

    server {{
        listen {host}:{port};
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;   # with the port: Tornado's websocket origin check compares them
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_read_timeout 1d;              # a websocket idle through a lecture stays open
        proxy_send_timeout 1d;
        proxy_buffering off;                # the stream's messages go out as they come
        proxy_connect_timeout 2s;           # a dead worker refuses at once; a hung one costs 2 s
        proxy_next_upstream error timeout http_502 http_503;

        location / {{
            proxy_pass http://$sfe_group;
            add_header Set-Cookie $sfe_cookie;
        }}
    }}
}}
"""

# Passive health check: one failed connection takes a worker out for 5 s, then nginx tries it again.
_SERVER = "server 127.0.0.1:{p} max_fails=1 fail_timeout=5s{extra};"


def worker_names(n: int) -> list[str]:
    return [f"w{i}" for i in range(n)]


def nginx_config(worker_ports: list[int], port: int, host: str, prefix: str) -> str:
    """nginx.conf for these workers (w0 on worker_ports[0], ...) listening on host:port."""
    names = worker_names(len(worker_ports))
    route = "\n".join(f"        {n} sfe_{n};" for n in names)
    served = "\n".join(f"        ~127\\.0\\.0\\.1:{p}$ {n};" for n, p in zip(names, worker_ports))
    groups = ["    upstream sfe_any {\n" + "\n".join(f"        {_SERVER.format(p=p, extra='')}"
                                                   for p in worker_ports) + "\n    }"]
    for n, p in zip(names, worker_ports):
        lines = [_SERVER.format(p=p, extra="")] + [f"server 127.0.0.1:{q} backup;" for q in worker_ports if q != p]
        groups.append(f"    upstream sfe_{n} {{\n" + "\n".join(f"        {x}" for x in lines) + "\n    }")
    return NGINX_CONF.format(prefix=prefix, cookie=COOKIE, route_map=route, served_map=served,
                             upstreams="\n".join(groups), host=host, port=port)


def moved_from(cookies, me: str | None) -> str | None:
    """The worker this session's browser was on before, when it is not this one (``me``,
    the SFE_WORKER of this process): the session came here because that one stopped.
    None when not served by ``serve`` (no name) or when nothing moved."""
    was = (cookies or {}).get(COOKIE)
    if not me or not was or was == me:
        return None
    return was


def find_nginx() -> str:
    """The nginx binary, or a ValueError saying how to install it."""
    found = shutil.which("nginx") or next((p for p in NGINX_PATHS if os.access(p, os.X_OK)), None)
    if not found:
        raise ValueError("nginx not found (not on PATH, not /usr/sbin/nginx): install Debian's with "
                         "`sudo apt-get install nginx`")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
            return r.read().strip() == b"ok"
    except OSError:
        return False


@dataclass
class Worker:
    name: str
    port: int
    proc: subprocess.Popen | None = None
    log: object = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """N workers and nginx in front; ``stop()`` ends them all."""
    port: int
    host: str
    workers: list[Worker]
    prefix: str
    env: dict
    nginx: subprocess.Popen | None = None
    nginx_bin: str = ""
    owns_prefix: bool = True
    _logs: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start_worker(self, w: Worker):
        """(Re)start one worker on its port, its name in SFE_WORKER; its output in <prefix>/<name>.log."""
        w.log = open(os.path.join(self.prefix, f"{w.name}.log"), "a")
        self._logs.append(w.log)
        w.proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py",
                                   "--server.address=127.0.0.1", f"--server.port={w.port}"],
                                  cwd=ROOT, env={**self.env, WORKER_ENV: w.name}, stdout=w.log,
                                  stderr=subprocess.STDOUT, start_new_session=True)

    def wait_healthy(self, workers, timeout: float):
        deadline = time.time() + timeout
        waiting = list(workers)
        while waiting:
            for w in list(waiting):
                if w.proc.poll() is not None:
                    raise RuntimeError(f"worker {w.name} (port {w.port}) exited with status {w.proc.returncode}; "
                                       f"its output: {w.log.name}")
                if healthy(w.url):
                    waiting.remove(w)
            if waiting and time.time() > deadline:
                raise RuntimeError(f"workers {', '.join(w.name for w in waiting)} did not answer /_stcore/health "
                                   f"within {timeout:.0f} s; their output is in {self.prefix}")
            time.sleep(0.3)

    def stop(self):
        for p in [self.nginx] + [w.proc for w in self.workers]:
            if p is not None and p.poll() is None:
                p.terminate()
        for p in [self.nginx] + [w.proc for w in self.workers]:
            if p is not None:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for f in self._logs:
            f.close()


def start(workers: int, port: int = 8501, host: str = "127.0.0.1", worker_ports: list[int] | None = None,
          prefix: str | None = None, env: dict | None = None, timeout: float = 120) -> Cluster:
    """Start ``workers`` Streamlit processes (on ``worker_ports``, default port+1, port+2, ...),
    wait for each one's health check, then nginx on host:port. On any failure everything
    started is stopped and a RuntimeError/ValueError says why."""
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers must be a whole number of at least 1, not {workers!r}")
    nginx_bin = find_nginx()
    worker_ports = worker_ports or [port + 1 + i for i in range(workers)]
    if len(worker_ports) != workers:
        raise ValueError(f"{workers} workers need {workers} worker ports, not {len(worker_ports)}")
    for p, h in [(port, host)] + [(q, "127.0.0.1") for q in worker_ports]:
        if not port_is_free(p, h):
            raise ValueError(f"port {p} on {h} is in use: choose another --port (workers use the next {workers})")
    env = dict(os.environ if env is None else env)
    # Each worker's gate of heavy jobs (pages/_runtime.gate) defaults to one per core:
    # N workers on one machine share the cores, so each gets its share.
    env.setdefault("SFE_WORKERS", str(max(1, (os.cpu_count() or 1) // workers)))
    owns = prefix is None
    prefix = prefix or tempfile.mkdtemp(prefix="sfe-serve-")
    os.makedirs(prefix, exist_ok=True)
    c = Cluster(port=port, host=host, workers=[Worker(n, p) for n, p in zip(worker_names(workers), worker_ports)],
                prefix=prefix, env=env, nginx_bin=nginx_bin, owns_prefix=owns)
    try:
        for w in c.workers:
            c.start_worker(w)
        c.wait_healthy(c.workers, timeout)
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as fh:
            fh.write(nginx_config(worker_ports, port, host, prefix))
        log = open(os.path.join(prefix, "nginx.out"), "a")
        c._logs.append(log)
        # -e: the error log from the first line on (Debian's default, /var/log/nginx, is root's)
        c.nginx = subprocess.Popen([nginx_bin, "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "error.log"),
                                    "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        deadline = time.time() + 15
        while not healthy(c.url):
            if c.nginx.poll() is not None or time.time() > deadline:
                with open(os.path.join(prefix, "error.log")) as fh:
                    tail = fh.read()[-600:]
                raise RuntimeError(f"nginx did not start on {host}:{port}: {tail.strip()}")
            time.sleep(0.2)
    except BaseException:
        c.stop()
        raise
    return c


def serve(workers: int, port: int, host: str, out=sys.stderr) -> None:
    """``python -m explorer serve``: start, print the URL and the workers, restart a worker
    that exits, and stop everything on Ctrl-C or SIGTERM."""
    def _term(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _term)
    c = start(workers, port, host)
    try:
        print(f"Score Field Explorer: {c.url}  (nginx, {workers} workers; files in {c.prefix})", file=out)
        for w in c.workers:
            print(f"  worker {w.name}: {w.url}  pid {w.proc.pid}", file=out)
        print("Ctrl-C stops everything.", file=out, flush=True)
        while True:
            time.sleep(1)
            if c.nginx.poll() is not None:
                raise RuntimeError(f"nginx exited with status {c.nginx.returncode}; see {c.prefix}/error.log")
            for w in c.workers:
                if w.proc.poll() is not None:
                    print(f"worker {w.name} (port {w.port}) exited with status {w.proc.returncode}: its students "
                          "moved to the others; restarting it", file=out, flush=True)
                    c.start_worker(w)
    except KeyboardInterrupt:
        print("stopping nginx and the workers", file=out, flush=True)
    finally:
        c.stop()
