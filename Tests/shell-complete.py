#!/usr/bin/env python3
"""What zsh or fish offers on TAB for a command line, with a given completion script loaded.

    python3 Tests/shell-complete.py zsh|fish COMPLETION_SCRIPT "rsynth classify --classifier "

Prints the candidates, sorted, one per line. The shell runs interactively in a pseudo-terminal,
because both shells complete only there: fish's `commandline --cursor`, which the generated
script passes to `rsynth ---completion`, has no value outside an interactive shell, and zsh's
completion functions run only inside a line-editor widget. A key bound to a small function does
what TAB does and reports each candidate on its own marked line:
  zsh:  a widget runs `complete-word`; `compadd` is wrapped so that every word it adds (after
        matching against what is typed) is printed first;
  fish: a function prints `complete -C` of the line up to the cursor.
rsynth must be on PATH (the completion scripts call it for plugin names). Exits 1, saying why,
when the shell prints no end marker within the timeout.
"""
import os
import pty
import re
import select
import sys
import time

TIMEOUT = 20.0

# Each marker is written split in two in the setup, so that the shell's echo of the setup lines
# never contains it.
SETUP = {
    "zsh": [
        'fpath=({dir} $fpath); autoload -U compinit; compinit -u -D',
        # -O, -A and -D only gather words into arrays (the completion functions use them to filter);
        # they add nothing, so they pass through unreported.
        'compadd() {{ if (( ${{@[(I)-[OAD]*]}} )); then builtin compadd "$@"; return; fi; '
        'local -a m; builtin compadd -O m "$@"; local w; for w in $m; do print -r -- "CAND""IDATE:$w"; done; '
        'builtin compadd "$@"; }}',
        '__report() {{ zle complete-word; print -r -- "END""OFLIST:"; }}; zle -N __report; bindkey "^X" __report',
    ],
    "fish": [
        'source {script}',
        'function __report; for c in (complete -C (commandline -c)); '
        'echo "CAND""IDATE:"(string split -f1 \\t -- $c); end; echo "END""OFLIST:"; end; bind \\cx __report',
    ],
}
ARGV = {"zsh": ["zsh", "-f", "-i"], "fish": ["fish", "--no-config", "-i"]}


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in SETUP:
        sys.exit("usage: shell-complete.py zsh|fish COMPLETION_SCRIPT LINE")
    shell, script, line = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "dumb"
        os.execvp(ARGV[shell][0], ARGV[shell])
    try:
        for setup_line in SETUP[shell]:
            os.write(fd, setup_line.format(dir=os.path.dirname(script), script=script).encode() + b"\r")
        os.write(fd, line.encode() + b"\x18")  # Ctrl-X: the key bound to the reporting function
        out, deadline = b"", time.time() + TIMEOUT
        while b"ENDOFLIST:" not in out and time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    break
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    if b"ENDOFLIST:" not in out:
        sys.exit(f"{shell} printed no list within {TIMEOUT:.0f} s; its output ended: {out[-500:]!r}")
    words = {m.decode() for m in re.findall(rb"CANDIDATE:([^\r\n]*)", out)}
    print("\n".join(sorted(words)))


if __name__ == "__main__":
    main()
