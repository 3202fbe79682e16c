"""The app's entry point on Streamlit Community Cloud: "Main file path" = cloud/streamlit_app.py.

Community Cloud installs the dependency file it finds next to the entry point first, so this
folder's ``requirements.txt`` is the one it reads: the app's own requirements with torch's
CPU-only wheel (PyPI's default torch wheel for Linux brings several GB of CUDA libraries that
a CPU-only host cannot use). It runs the same ``app.py`` as ``streamlit run app.py``;
``.streamlit/config.toml`` is read from the repository's root either way.
"""

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the app imports `ui` and `pgcore` from the repository's root
    sys.path.insert(0, str(ROOT))
runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
