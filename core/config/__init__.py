"""Configuration: ``parley.yaml`` (LiteLLM proxy's format plus a ``parley:`` section), the
environment and Streamlit secrets, validated into one ``Settings``.

Loading connects to nothing: local servers are asked for their model lists only when
``Settings.models`` is first read. Rooms: ``loader`` (the file and its checks), ``environment``
(what a machine with no file offers), ``discovery`` (local servers), ``model``/``settings``
(the validated shapes).
"""
from core.config.loader import build_settings, load_settings, resolve_env_refs
from core.config.model import LOCAL_MODEL_NAME, LOCAL_PROVIDER, ModelConfig
from core.config.settings import COMPLEXITY_LEVELS, PRIVACY_MODES, Settings

__all__ = ["Settings", "ModelConfig", "load_settings", "build_settings", "resolve_env_refs",
           "PRIVACY_MODES", "COMPLEXITY_LEVELS", "LOCAL_PROVIDER", "LOCAL_MODEL_NAME"]
