# A package only so that packaging ships sitecustomize.py. `loopsafe record` puts this folder
# (not its parent) first on the recorded command's PYTHONPATH; nothing imports it as a package.
