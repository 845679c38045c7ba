"""Benchmark: large uploads and spreadsheet bombs (issue 14), before and after.

Run from the project root (``make bench`` runs it)::

    .venv/bin/python bench/security.py [--upload-mb 1024] [--skip-old]

(a) Uploads against a real gunicorn (one sync worker, DEBUG off, a temporary
SQLite database, TMPDIR a fresh folder), posted anonymously to the login
page: a multipart body declaring --upload-mb MB (sent until the server
answers), the same size sent chunked (no Content-Length), and a body
declaring 1,000 bytes but sending the full size. For each: the answer and
the seconds until it, the bytes sent, and the most TMPDIR held meanwhile
(polled every 20 ms; Django deletes its temporary upload files when the
request ends). "before" is the same server with the settings of before
(no RequestBodyLimitMiddleware, DATA_UPLOAD_MAX_MEMORY_SIZE 10 MB).

(b) Reading spreadsheet bombs, each in a fresh child process (address space
limited to 6 GiB, 180 s) reporting its own peak RSS (VmHWM): a
1,000,000-row CSV, .xlsx files of ~1 MB and ~3 MB unpacking to one 1 GB and
3 GB cell, and a real 100,000-row .xlsx for comparison. "before" reads them
the way the code did before (tablib for the CSV; import_export's stock
XLSX format, still installed, for .xlsx), "after" with crm.spreadsheets.

Results: bench/results/security.json.
"""

import argparse
import io
import json
import os
import random
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
PYTHON = sys.executable
MB = 1024 * 1024
CHILD_MEMORY_LIMIT = 6 * 1024 * MB
CHILD_TIMEOUT = 180

# The real settings; no collectstatic for a benchmark (the manifest storage
# would fail on the error pages' stylesheet).
NEW_SETTINGS = """
from project.settings import *  # noqa
STORAGES = {**STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
"""
# The settings of before issue 14, for the "before" server.
OLD_SETTINGS = NEW_SETTINGS + """
MIDDLEWARE = [m for m in MIDDLEWARE if m != "crm.middleware.RequestBodyLimitMiddleware"]
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, IMPORT_MAX_UPLOAD_MB * 1024 * 1024)
"""


def server_env(workdir, tmpdir):
    return {
        **os.environ,
        "SECRET_KEY": "bench-security-" + "k" * 40,
        "DEBUG": "0",
        "ENV_FILE": "",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{workdir}/db.sqlite3",
        "TMPDIR": str(tmpdir),
        "PYTHONPATH": f"{workdir}{os.pathsep}{PROJECT_ROOT}",
        "LOG_LEVEL": "WARNING",
    }


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """gunicorn project.wsgi as docker/entrypoint.sh starts it, one worker."""

    def __init__(self, workdir, settings_module):
        self.tmpdir = Path(workdir) / f"tmp-{settings_module.replace('.', '-')}"
        self.tmpdir.mkdir()
        self.port = free_port()
        env = {**server_env(workdir, self.tmpdir), "DJANGO_SETTINGS_MODULE": settings_module}
        self.process = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "project.wsgi", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--timeout", "60", "--log-level", "warning"],
            cwd=PROJECT_ROOT, env=env, start_new_session=True,
            stderr=open(Path(workdir) / f"{settings_module}.log", "w"),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                # The first request loads Django in the worker: not measured.
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/admin/login/", timeout=30)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


class TmpWatcher(threading.Thread):
    """The most bytes ``folder`` held while running."""

    def __init__(self, folder):
        super().__init__(daemon=True)
        self.folder = folder
        self.peak = 0
        self.running = True

    def run(self):
        while self.running:
            total = 0
            for entry in os.scandir(self.folder):
                try:
                    total += entry.stat().st_size
                except FileNotFoundError:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.02)

    def stop(self):
        self.running = False
        self.join()
        return self.peak


def post(port, size, how):
    """Send a POST of ``size`` bytes to the login page; stop when the server answers.

    how: "length" (multipart, Content-Length: size), "chunked" (no length),
    "understated" (Content-Length: 1000, then all of it).
    """
    boundary = "benchboundary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n').encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = [
        "POST /admin/login/ HTTP/1.1", f"Host: 127.0.0.1:{port}",
        f"Content-Type: multipart/form-data; boundary={boundary}", "Connection: close",
        # A well-formed CSRF cookie: Django then reads the body for the
        # form's token (without one it refuses before reading).
        "Cookie: csrftoken=" + "a" * 32,
    ]
    if how == "chunked":
        headers.append("Transfer-Encoding: chunked")
    else:
        headers.append(f"Content-Length: {size if how == 'length' else 1000}")
    chunk = b"x" * MB
    sock = socket.create_connection(("127.0.0.1", port))
    started = time.monotonic()
    sent = 0
    answer = b""
    try:
        sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        parts = [head] + [chunk] * (size // MB) + [tail]
        for part in parts:
            if how == "chunked":
                part = f"{len(part):x}\r\n".encode() + part + b"\r\n"
            readable, _w, _x = select.select([sock], [], [], 0)
            if readable:
                break
            sock.sendall(part)
            sent += len(part)
        else:
            if how == "chunked":
                sock.sendall(b"0\r\n\r\n")
        sock.settimeout(120)
        answer = sock.recv(4096)
    except (BrokenPipeError, ConnectionResetError) as error:
        try:
            answer = sock.recv(4096)
        except OSError:
            answer = f"connection closed ({type(error).__name__})".encode()
    finally:
        sock.close()
    status = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    return {"answer": status, "seconds": round(time.monotonic() - started, 2),
            "sent_mb": round(sent / MB, 1)}


def run_uploads(size_mb, skip_old):
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-security-") as workdir:
        Path(workdir, "bench_security_old_settings.py").write_text(OLD_SETTINGS)
        Path(workdir, "bench_security_settings.py").write_text(NEW_SETTINGS)
        env = {**server_env(workdir, workdir), "DJANGO_SETTINGS_MODULE": "project.settings"}
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=PROJECT_ROOT, env=env,
                       check=True)
        versions = [("after", "bench_security_settings")]
        if not skip_old:
            versions.insert(0, ("before", "bench_security_old_settings"))
        for version, settings_module in versions:
            server = Gunicorn(workdir, settings_module)
            try:
                for how in ("length", "chunked", "understated"):
                    watcher = TmpWatcher(server.tmpdir)
                    watcher.start()
                    result = post(server.port, size_mb * MB, how)
                    time.sleep(0.2)
                    result["tmp_peak_mb"] = round(watcher.stop() / MB, 1)
                    result["tmp_left_mb"] = round(
                        sum(f.stat().st_size for f in server.tmpdir.iterdir()) / MB, 1)
                    rows.append({"version": version, "body": how, "size_mb": size_mb, **result})
                    print(rows[-1], flush=True)
            finally:
                server.stop()
    return rows


# --- (b) Reading bombs --------------------------------------------------------

CHILD = r"""
import json, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
import django
django.setup()
from django.utils import translation
translation.activate("en")
path, reader = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
started = time.monotonic()
try:
    if reader == "load-only":
        dataset = None
    elif reader == "before-csv":
        import tablib
        from crm.spreadsheets import decode_text, sniff_delimiter
        text = decode_text(data)
        dataset = tablib.import_set(text, format="csv", delimiter=sniff_delimiter(text))
    elif reader == "before-xlsx":
        from import_export.formats.base_formats import XLSX
        dataset = XLSX().create_dataset(data)
    elif reader == "after-csv":
        from crm.spreadsheets import SpreadsheetCSV
        dataset = SpreadsheetCSV().create_dataset(data)
    elif reader == "after-xlsx":
        from crm.spreadsheets import SpreadsheetXLSX
        dataset = SpreadsheetXLSX().create_dataset(data)
    outcome = "read" if dataset is None else f"read {len(dataset):,} rows"
except MemoryError:
    outcome = "MemoryError"
except Exception as error:
    outcome = f"refused: {error}" if type(error).__name__ == "SpreadsheetRefused" \
        else f"{type(error).__name__}: {str(error)[:80]}"
seconds = round(time.monotonic() - started, 2)
# VmHWM: this process's own peak. (wait4's ru_maxrss counts the forking
# parent's memory too: Linux keeps the high-water mark across exec.)
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
peak_mb = int(hwm.split()[1]) // 1024
print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_rss_mb": peak_mb}))
"""


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_LIMIT, CHILD_MEMORY_LIMIT))


def read_in_child(path, reader):
    env = {**os.environ, "SECRET_KEY": "bench-security-" + "k" * 40, "ENV_FILE": "",
           "DEBUG": "0", "DATABASE_URL": "sqlite:///:memory:"}
    started = time.monotonic()
    child = subprocess.Popen([PYTHON, "-c", CHILD, str(path), reader], cwd=PROJECT_ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             preexec_fn=limit_memory)
    timer = threading.Timer(CHILD_TIMEOUT, child.kill)
    timer.start()
    out = child.stdout.read()
    err = child.stderr.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    timer.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)
    try:
        result = json.loads(out.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        last = err.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
        result = {"outcome": f"died (exit {child.returncode}): {last[0][:80]}",
                  "seconds": round(time.monotonic() - started, 1),
                  # An upper bound: it includes this process's own memory.
                  "peak_rss_mb": f"<= {round(usage.ru_maxrss / 1024)}"}
    return result


def write_bomb(path, cell_mb):
    """An .xlsx whose second row is one cell of ``cell_mb`` MB, streamed into the zip."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Nama", "No HP"])
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as source, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for item in source.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                target.writestr(item, source.read(item.filename))
                continue
            with target.open(item.filename, "w", force_zip64=True) as sheet:
                sheet.write(
                    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                    b'main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Nama</t></is>'
                    b'</c></row><row r="2"><c r="A2" t="inlineStr"><is><t>')
                megabyte = b"a" * MB
                for _ in range(cell_mb):
                    sheet.write(megabyte)
                sheet.write(b"</t></is></c></row></sheetData></worksheet>")


def write_customers_xlsx(path, rows):
    """A real workbook as a user's: 8 columns, shared strings, a <dimension>."""
    import openpyxl

    rng = random.Random(14)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Nama", "No HP", "Email", "Nama Usaha", "Alamat", "Kota", "Sumber", "Catatan"])
    for i in range(rows):
        sheet.append([f"Pelanggan {i}", f"0812-{i // 10000:04d}-{i % 10000:04d}",
                      f"pelanggan{i}@contoh.id", f"Toko {rng.randrange(500)}",
                      f"Jl. Merdeka {rng.randrange(300)}",
                      rng.choice(["Blitar", "Malang", "Kediri"]), "Instagram", ""])
    book.save(path)


def run_bombs(skip_old):
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-security-") as workdir:
        files = {}
        csv_path = Path(workdir, "million.csv")
        csv_path.write_bytes(b"Nama,No HP\n" + b"x,1\n" * 1_000_000)
        files["1,000,000-row CSV"] = (csv_path, "csv")
        for cell_mb in (1024, 3072):
            path = Path(workdir, f"bomb-{cell_mb}.xlsx")
            write_bomb(path, cell_mb)
            files[f".xlsx, one {cell_mb // 1024} GB cell"] = (path, "xlsx")
        path = Path(workdir, "customers.xlsx")
        write_customers_xlsx(path, 100_000)
        files["100,000-row customer .xlsx (real)"] = (path, "xlsx")

        baseline = read_in_child(csv_path, "load-only")
        print("baseline (Django loaded, file read):", baseline, flush=True)
        for label, (path, kind) in files.items():
            with zipfile.ZipFile(path) if kind == "xlsx" else _nothing() as archive:
                unpacked = sum(m.file_size for m in archive.infolist()) if archive else None
            for version in ("before", "after"):
                if version == "before" and skip_old:
                    continue
                result = read_in_child(path, f"{version}-{kind}")
                rows.append({
                    "file": label, "file_mb": round(path.stat().st_size / MB, 2),
                    "unpacked_mb": round(unpacked / MB) if unpacked else None,
                    "version": version, **result,
                })
                print(rows[-1], flush=True)
    return baseline, rows


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upload-mb", type=int, default=1024)
    parser.add_argument("--skip-old", action="store_true", help="measure only the new code")
    args = parser.parse_args()
    if shutil.disk_usage(tempfile.gettempdir()).free < 8 * 1024 * MB:
        sys.exit("Needs 8 GB free in the temporary folder.")

    uploads = run_uploads(args.upload_mb, args.skip_old)
    baseline, bombs = run_bombs(args.skip_old)

    print("\n(a) Uploads to the login page, anonymous, one gunicorn sync worker")
    print("| version | body | answer | seconds | MB sent | TMPDIR peak MB |")
    print("|---|---|---|---:|---:|---:|")
    for row in uploads:
        print(f"| {row['version']} | {row['size_mb']:,} MB, {row['body']} | {row['answer']} | "
              f"{row['seconds']} | {row['sent_mb']:,} | {row['tmp_peak_mb']:,} |")
    print(f"\n(b) Reading, one child process each (RSS with Django loaded and nothing read: "
          f"{baseline['peak_rss_mb']} MB)")
    print("| file | size MB | unpacked MB | version | outcome | seconds | peak RSS MB |")
    print("|---|---:|---:|---|---|---:|---:|")
    for row in bombs:
        print(f"| {row['file']} | {row['file_mb']} | {row['unpacked_mb'] or ''} | "
              f"{row['version']} | {row['outcome']} | {row['seconds']} | {row['peak_rss_mb']} |")

    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "security.json").write_text(json.dumps(
        {"uploads": uploads, "reading_baseline": baseline, "reading": bombs}, indent=2))


if __name__ == "__main__":
    main()
