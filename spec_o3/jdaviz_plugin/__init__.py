"""The "Spectral Vetting" tray plugin for Jdaviz (``pip install "spec-o3[jdaviz]"``).

Importing this subpackage registers the plugin with Jdaviz's tray registry.
"""
