"""The Kubernetes files (deploy/kubernetes: Zero to JupyterHub's values, the students' image),
as far as this machine can check them without Docker or Kubernetes: the start hook the
image runs in each server, the image's sources, and the teachers' token rule, which must be
the one deploy/jupyterhub/jupyterhub_config.py gives a hub on one machine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import yaml
from traitlets.config import Config

ROOT = Path(__file__).resolve().parent.parent
KUBERNETES = ROOT / "deploy" / "kubernetes"


def test_the_start_hook_gives_the_course_once_and_the_teachers_notebook_to_teachers(tmp_path):
    share = tmp_path / "srv"  # laid out as the Dockerfile lays /srv/esp32 out
    shutil.copytree(ROOT / "notebooks", share / "course")
    shutil.copyfile(ROOT / "deploy" / "jupyterhub" / "teacher.ipynb", share / "teacher.ipynb")

    def start(user: str) -> Path:
        home = tmp_path / "home" / user
        home.mkdir(parents=True, exist_ok=True)
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "ESP32_SHARE": str(share), "JUPYTERHUB_USER": user,
               "ESP32_HUB_TEACHERS": "teacher,mrs-lee"}  # fmt: skip
        subprocess.run(["sh", str(KUBERNETES / "start-hook.sh")], env=env, check=True)
        return home

    ada = start("ada")
    assert (ada / "esp32-course" / "01-first-steps.ipynb").is_file() and not (ada / "esp32-teacher.ipynb").exists()
    (ada / "esp32-course" / "01-first-steps.ipynb").write_text("ada's work")
    start("ada")  # the next start leaves her work alone
    assert (ada / "esp32-course" / "01-first-steps.ipynb").read_text() == "ada's work"
    assert (start("mrs-lee") / "esp32-teacher.ipynb").is_file()
    assert not (start("lee") / "esp32-teacher.ipynb").exists()  # a name inside a teacher's is not a teacher's


def test_what_the_image_copies_is_in_the_repository():
    sources = re.findall(r"^COPY (\S+)", (KUBERNETES / "Dockerfile").read_text(), re.M)
    assert "notebooks" in sources
    for source in sources:
        if not source.startswith("dist/"):  # the wheel, built first (the Dockerfile says how)
            assert (ROOT / source).exists(), source
    values = yaml.safe_load((KUBERNETES / "values.yaml").read_text())
    hook = values["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"]
    assert hook == ["/srv/esp32/start-hook.sh"] and "COPY deploy/kubernetes/start-hook.sh /srv/esp32/start-hook.sh" in (
        KUBERNETES / "Dockerfile"
    ).read_text()


def _server_token_scopes(source: str):
    c = Config()
    exec(source, {"c": c, "get_config": lambda: c, "__file__": str(ROOT / "deploy" / "jupyterhub" / "jupyterhub_config.py")})
    return c.Spawner.server_token_scopes


def test_teachers_get_the_same_rights_on_kubernetes_as_on_one_machine():
    values = yaml.safe_load((KUBERNETES / "values.yaml").read_text())
    on_kubernetes = _server_token_scopes(values["hub"]["extraConfig"]["esp32-teachers"])
    on_one_machine = _server_token_scopes((ROOT / "deploy" / "jupyterhub" / "jupyterhub_config.py").read_text())
    for admin in (True, False):
        spawner = SimpleNamespace(user=SimpleNamespace(admin=admin, name="x"))
        assert on_kubernetes(spawner) == on_one_machine(spawner)
    teacher = on_kubernetes(SimpleNamespace(user=SimpleNamespace(admin=True)))
    assert {"list:users", "access:servers"} <= set(teacher) and on_kubernetes(SimpleNamespace(user=SimpleNamespace(admin=False))) is None
    assert values["hub"]["config"]["Authenticator"]["admin_users"] == values["singleuser"]["extraEnv"]["ESP32_HUB_TEACHERS"].split(",")
