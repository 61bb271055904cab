#!/bin/sh
# Run in each student's server as it starts (values.yaml: singleuser.lifecycleHooks.postStart):
# the course into the home on the first start (never over the student's work), and the class
# overview notebook for the teachers named in ESP32_HUB_TEACHERS (comma-separated).
set -e
share="${ESP32_SHARE:-/srv/esp32}"  # where the Dockerfile put them
[ -e "$HOME/esp32-course" ] || cp -r "$share/course" "$HOME/esp32-course"
case ",${ESP32_HUB_TEACHERS}," in
  *",${JUPYTERHUB_USER},"*) [ -e "$HOME/esp32-teacher.ipynb" ] || cp "$share/teacher.ipynb" "$HOME/esp32-teacher.ipynb" ;;
esac
