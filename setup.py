from setuptools import setup

setup(
    cffi_modules=["build_ffi.py:ffibuilder"],
    # The extension uses only the stable ABI (cffi's default): one wheel per platform.
    options={"bdist_wheel": {"py_limited_api": "cp39"}},
)
