"""`incidentdesk`: the command line. Each subcommand is a Django management command."""

from __future__ import annotations

import os
import sys

COMMANDS = {
    "init": "create or upgrade the database and load the policy (safe to run again)",
    "serve": "run the web server and a task worker (--no-worker for web only)",
    "worker": "run a task worker",
    "createuser": "create an account: --email E --password P --role R [--org NAME]",
    "token": "API tokens: token create --email E [--scope read|write|metrics] [--expires-in DAYS] | list | revoke",
    "integration": "integration create NAME [--component C] | list | revoke NAME: alert sources",
    "demo": "load the demo organisation, people and incidents (once); --scale N adds N more",
    "policy": "policy check FILE | policy show | policy load FILE",
    "timeline": "timeline verify [INC-n]: check the hash chains",
    "backup": "backup FILE [--passphrase-file F]: all data, files and sealed keys in one zip",
    "restore": "restore FILE: load a backup (and its files) into an empty database",
    "deliveries": "deliveries held | release: deliveries a restore holds until released",
    "secrets": "secrets check | reencrypt: stored secrets decrypt; rotate the secret key",
    "export": "export INC-n [--format md|json]: an incident's whole documented record",
    "mailin": "mailin [--host H] [--port P]: receive incident reports by e-mail (SMTP)",
    "mailsink": "run a local SMTP server on 127.0.0.1:1025 that keeps received mail",
    "statuspage": "statuspage export DIR: write the public status page as static files",
    "manage": "manage COMMAND ...: any Django management command",
}


def usage() -> str:
    width = max(len(c) for c in COMMANDS)
    lines = ["usage: incidentdesk COMMAND [OPTIONS]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, text in COMMANDS.items()]
    lines += ["", "Run 'incidentdesk COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incidentdesk.settings")
    if not args or args[0] in {"-h", "--help", "help"}:
        sys.stdout.write(usage() + "\n")
        return
    if args[0] == "manage":
        args = args[1:]
    elif args[0] not in COMMANDS:
        sys.stderr.write(f"incidentdesk: unknown command {args[0]!r}\n\n{usage()}\n")
        sys.exit(2)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["incidentdesk", *args])


if __name__ == "__main__":
    main()
