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

c.JupyterHub.bind_url = os.environ.get("ESP32_HUB_URL", "http://:8000")
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
# Each server runs as its student (LocalProcessSpawner, the default), so students' files and
# boards are their own. Students sign in with their passwords on this computer; the teacher
# is an admin (JupyterHub's own admin page: every student's server, and access to it).
c.Authenticator.admin_users = set(filter(None, os.environ.get("ESP32_HUB_TEACHERS", "teacher").split(",")))
c.Authenticator.allow_all = True  # every user of this computer who can sign in; or list them in allowed_users
# The course's notebooks, copied into a student's home on their first start (never over
# their own work): set ESP32_HUB_COURSE to the folder that holds them.
COURSE = os.environ.get("ESP32_HUB_COURSE")


def copy_course(spawner):
    if not COURSE:
        return
    import pwd
    import shutil

    try:
        owner = pwd.getpwnam(spawner.user.name)
        home = owner.pw_dir
    except KeyError:  # not a user of this computer: SimpleLocalProcessSpawner's homes
        owner, home = None, spawner.home_dir_template.format(username=spawner.user.name)
    target = os.path.join(home, "esp32-course")
    if os.path.exists(target):
        return
    shutil.copytree(COURSE, target)
    if owner is not None:
        for folder, _, files in os.walk(target):
            for path in [folder, *(os.path.join(folder, name) for name in files)]:
                os.chown(path, owner.pw_uid, owner.pw_gid)


c.Spawner.pre_spawn_hook = copy_course
