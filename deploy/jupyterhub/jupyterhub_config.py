# JupyterHub for an ESP32 class on one server (the README's "A class on JupyterHub").
#
#   jupyterhub -f deploy/jupyterhub/jupyterhub_config.py
#
# Each student signs in as a user of this computer (PAM) and gets a JupyterLab of their own
# with the ESP32 kernel. With no board, each kernel starts an emulated ESP32 whose flash is a
# folder in the student's home (~/.local/share/jupyter/esp32-kernel/boards/default): it is
# there again next session, and only that student's programs may connect to it.
import os

c = get_config()  # noqa: F821 — JupyterHub's config loader provides it

HUB_URL = os.environ.get("ESP32_HUB_URL", "http://:8000")
c.JupyterHub.bind_url = HUB_URL
# Where servers on this machine reach the hub's proxy (the teacher's Classroom goes there).
c.Spawner.environment = {"ESP32_HUB_URL": HUB_URL.replace("://:", "://127.0.0.1:")}
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
# Each server runs as its student (LocalProcessSpawner, the default), so students' files and
# boards are their own. Students sign in with their passwords on this computer; the teacher
# is an admin (JupyterHub's own admin page: every student's server, and access to it).
c.Authenticator.admin_users = set(filter(None, os.environ.get("ESP32_HUB_TEACHERS", "teacher").split(",")))
c.Authenticator.allow_all = True  # every user of this computer who can sign in; or list them in allowed_users


def server_token_scopes(spawner):
    """A teacher's server may list the class and open students' servers (esp32_kernel.classroom,
    the teacher's notebook): JupyterHub's own admin rights, handed to their notebooks. A
    student's server gets the hub's default (None)."""
    if spawner.user.admin:
        return ["users:activity!user", "access:servers!server", "list:users", "read:users", "read:servers", "access:servers"]
    return None


c.Spawner.server_token_scopes = server_token_scopes
# The course's notebooks, copied into a student's home on their first start (never over
# their own work): set ESP32_HUB_COURSE to the folder that holds them. A teacher also gets
# the class overview notebook (teacher.ipynb, beside this file).
COURSE = os.environ.get("ESP32_HUB_COURSE")
TEACHER_NOTEBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "teacher.ipynb")


def copy_into_home(spawner, source, name):
    import pwd
    import shutil

    try:
        owner = pwd.getpwnam(spawner.user.name)
        home = owner.pw_dir
    except KeyError:  # not a user of this computer: SimpleLocalProcessSpawner's homes
        owner, home = None, spawner.home_dir_template.format(username=spawner.user.name)
    target = os.path.join(home, name)
    if os.path.exists(target):
        return
    os.makedirs(home, exist_ok=True)
    (shutil.copytree if os.path.isdir(source) else shutil.copyfile)(source, target)
    if owner is not None:  # the student's, not the hub's
        inside = [os.path.join(folder, f) for folder, dirs, files in os.walk(target) for f in dirs + files]
        for path in [target, *inside]:
            os.chown(path, owner.pw_uid, owner.pw_gid)


# Real boards (optional): ESP32_HUB_BOARDS names a pool file of boards a lab machine shares
# with `python -m esp32_kernel serve-boards` (the README's "Real boards for a hub"). Each
# student's server gets one when it starts, as ESP32_KERNEL_PORT, so their kernels connect to
# it and `%connect` with no address goes back to it; it returns to the pool when the server
# stops. With none free, that student's kernels use an emulated board.
BOARDS = os.environ.get("ESP32_HUB_BOARDS")
if BOARDS:
    from esp32_kernel.board_pool import BoardPool

    pool = BoardPool(BOARDS)


def assign_board(spawner):
    environment = {k: v for k, v in spawner.environment.items() if k != "ESP32_KERNEL_PORT"}  # a copy: config's dict is shared
    board = pool.claim(spawner.user.name) if BOARDS else None
    if board:
        environment["ESP32_KERNEL_PORT"] = board
        spawner.log.info("%s gets the board at %s", spawner.user.name, board)
    elif BOARDS:
        spawner.log.warning("every board in %s is held: %s gets an emulated board", BOARDS, spawner.user.name)
    spawner.environment = environment


def give_board_back(spawner):
    if BOARDS:
        pool.release(spawner.user.name)


def pre_spawn(spawner):
    if COURSE:
        copy_into_home(spawner, COURSE, "esp32-course")
    if spawner.user.admin:
        copy_into_home(spawner, TEACHER_NOTEBOOK, "esp32-teacher.ipynb")
    assign_board(spawner)


c.Spawner.pre_spawn_hook = pre_spawn
c.Spawner.post_stop_hook = give_board_back
