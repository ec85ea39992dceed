"""A real PostgreSQL server for tests: Debian's binaries, a throwaway cluster on loopback.

initdb and pg_ctl start it in a tmp dir at a free port (as an unprivileged user when the
tests run as root, since PostgreSQL refuses to run as root); each test gets a database of
its own. conftest.py's `postgres` fixture starts one per test module and skips, naming the
package to install, where the binaries are missing.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.harness import free_port

PACKAGE_HINT = "install Debian's `postgresql` package (apt-get install postgresql)"
ADMIN = "isnad"  # the superuser initdb creates; trusted on loopback, other roles need a password


def find_postgres_bin() -> Path | None:
    """The newest PostgreSQL server's bin folder (Debian keeps initdb and pg_ctl off PATH)."""

    def version(folder: str) -> int:
        name = Path(folder).parent.name
        return int(name) if name.isdigit() else 0

    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        folders.append(str(Path(on_path).resolve().parent))
    for folder in folders:
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster on loopback."""

    bindir: Path
    root: Path
    port: int = 0
    uid: int | None = None  # run the server as this user (when the tests run as root)
    gid: int | None = None
    databases: int = 0

    @classmethod
    def start(cls, bindir: Path) -> PostgresServer:
        root = Path(tempfile.mkdtemp(prefix="isnad-pg-"))  # not under pytest's root-only tmp dirs
        server = cls(bindir, root)
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")  # made by the Debian package
            except KeyError:
                account = pwd.getpwnam("nobody")
            server.uid, server.gid = account.pw_uid, account.pw_gid
            os.chown(root, account.pw_uid, account.pw_gid)
        data = root / "data"
        server.run(
            "initdb", "-D", str(data), "-U", ADMIN, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"
        )  # fmt: skip
        # Rewriting existing files keeps their owner, so root may edit them.
        (data / "pg_hba.conf").write_text(
            f"host all {ADMIN} 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )
        with (data / "postgresql.conf").open("a") as conf:
            # Unix sockets off (no /run/postgresql needed); durability off: throwaway data.
            conf.write(
                "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )
        for _ in range(3):  # another process may take the free port before the server binds it
            server.port = free_port()
            with (data / "postgresql.conf").open("a") as conf:
                conf.write(f"port = {server.port}\n")
            done = server.run(
                "pg_ctl", "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "60", "start",
                check=False,
            )  # fmt: skip
            if done.returncode == 0:
                return server
        log = (root / "server.log").read_text(errors="replace")[-2000:]
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start:\n{done.stdout}{done.stderr}\n{log}")

    def run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a server program as the server's user."""
        done = subprocess.run(
            [str(self.bindir / program), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C", "TZ": "UTC"},
            cwd=self.root,
            user=self.uid,
            group=self.gid,
            extra_groups=[] if self.uid is not None else None,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stdout}{done.stderr}")
        return done

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str, user: str = ADMIN, password: str | None = None) -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def admin(self, *statements: str) -> None:
        """Run statements as the superuser, outside a transaction (CREATE DATABASE needs that)."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as db:
            for statement in statements:
                db.execute(statement)

    def new_database(self, owner: str = ADMIN) -> str:
        """A fresh, empty database; returns its name."""
        self.databases += 1
        name = f"isnad_test_{self.databases}"
        self.admin(f'CREATE DATABASE {name} OWNER "{owner}"')
        return name
