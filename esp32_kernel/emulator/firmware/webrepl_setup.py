"""webrepl_setup, the board's frozen module: importing it asks, at the REPL, whether WebREPL
starts at boot and what its password is; it writes webrepl_cfg.py and edits boot.py."""

import machine
import os

import _esp32_frozen

RC = "./boot.py"
CONFIG = "./webrepl_cfg.py"
_START_LINES = ("import webrepl", "webrepl.start()")


def input_choice(prompt, choices):
    while True:
        answer = input(prompt)
        if answer in choices:
            return answer


def getpass(prompt):
    return input(prompt)


def input_pass():
    while True:
        password = getpass("New password (4-9 chars): ")
        if not 4 <= len(password) <= 9:
            print("Invalid password length")
            continue
        if getpass("Confirm password: ") == password:
            return password
        print("Passwords do not match")


def exists(fname):
    try:
        os.stat(fname)
        return True
    except OSError:
        return False


def _boot_lines():
    if not exists(RC):
        return []
    with open(RC) as f:
        return f.read().split("\n")


def get_daemon_status():
    """True: boot.py starts WebREPL; False: its lines are commented out; None: not there."""
    status = None
    for line in _boot_lines():
        code = line.lstrip("#").strip()
        if code in _START_LINES:
            if not line.startswith("#"):
                return True
            status = False
    return status


def change_daemon(action):
    lines = _boot_lines()
    found = False
    for i, line in enumerate(lines):
        code = line.lstrip("#").strip()
        if code in _START_LINES:
            found = True
            lines[i] = code if action else "#" + code
    if not found and action:
        if lines and not lines[-1]:
            lines.pop()
        lines += list(_START_LINES) + [""]
    with open(RC, "w") as f:
        f.write("\n".join(lines))


def main():
    status = get_daemon_status()
    print("WebREPL daemon auto-start status:", "enabled" if status else "disabled")
    print("\nWould you like to (E)nable or (D)isable it running on boot?")
    print("(Empty line to quit)")
    answer = input("> ").upper()
    if answer not in ("D", "E"):
        return
    if answer == "E":
        if exists(CONFIG):
            change_password = input_choice("Would you like to change WebREPL password? (y/n) ", ("y", "n", ""))
        else:
            print("To enable WebREPL, you must set password for it")
            change_password = "y"
        if change_password == "y":
            with open(CONFIG, "w") as f:
                f.write("PASS = %r\n" % input_pass())
    if (answer == "E") != bool(status):
        change_daemon(answer == "E")
    print("Changes will be activated after reboot")
    if input_choice("Would you like to reboot now? (y/n) ", ("y", "n", "")) == "y":
        machine.reset()


_esp32_frozen.in_user_folder(main)  # as a board, in its current folder (imports run in the firmware's)
