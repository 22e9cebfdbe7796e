"""What the benchmark's fake PyPI serves (tests/e2e/origin.py reads this layout):

  ROOT/pypi/simple/<project>/index.{html,json}, ROOT/pypi/simple/index.{html,json},
  ROOT/pypi/pypi/<project>/json
  ROOT/files/packages/<b2[0:2]>/<b2[2:4]>/<b2[4:]>/<file> (+ <file>.metadata for wheels)
  ROOT/world.json  what the benchmark scripts need: paths, sizes, sha256 of every object

Objects (sizes times --scale, so a development run stays small):
  big        bigwheel-1.0-py3-none-any.whl, 150 MiB: the cached download of scenario 1, and the
             cold download of scenario 4 (it is cold in each proxy until scenario 4 fetches it)
  coalesce   coalesce-1.0-py3-none-any.whl, 64 MiB: 21 concurrent cold clients (scenario 4)
  small-page /simple/smallpkg/ JSON, ~2 KiB (3 files)
  large-page /simple/bigproject/ JSON, ~2 MiB (thousands of files, like a project with a long
             release history)
  stack      ~36 real, installable wheels with dependencies between them and sizes spread like a
             data-science stack (numpy 18 MiB, scipy 36 MiB, pyarrow 38 MiB, llvmlite 42 MiB,
             many small pure-Python ones): pip resolves them from PEP 691 JSON and PEP 658
             .metadata, exactly as against pypi.org
Content is pseudo-random, seeded by name: every run serves the same bytes.

usage: world.py ROOT [--scale F]
"""
import base64
import hashlib
import io
import json
import os
import random
import sys
import zipfile

MiB = 1 << 20
UPLOAD_TIME = "2024-01-02T03:04:05.000000Z"

# (project, size in MiB, requirements): a data-science stack as `pip install pandas
# scikit-learn matplotlib seaborn statsmodels sympy networkx pyarrow h5py numba jinja2 requests
# tqdm` resolves it on CPython 3.11 x86_64 (sizes rounded from the real manylinux wheels).
STACK = [
    ("numpy", 18.0, []),
    ("scipy", 36.0, ["numpy"]),
    ("pandas", 12.0, ["numpy", "python-dateutil", "pytz", "tzdata"]),
    ("python-dateutil", 0.23, ["six"]),
    ("six", 0.011, []),
    ("pytz", 0.5, []),
    ("tzdata", 0.34, []),
    ("matplotlib", 11.0, ["numpy", "contourpy", "cycler", "fonttools", "kiwisolver",
                          "packaging", "pillow", "pyparsing", "python-dateutil"]),
    ("contourpy", 0.3, ["numpy"]),
    ("cycler", 0.008, []),
    ("fonttools", 4.6, []),
    ("kiwisolver", 1.4, []),
    ("packaging", 0.05, []),
    ("pillow", 4.3, []),
    ("pyparsing", 0.1, []),
    ("scikit-learn", 12.0, ["numpy", "scipy", "joblib", "threadpoolctl"]),
    ("joblib", 0.3, []),
    ("threadpoolctl", 0.018, []),
    ("seaborn", 0.29, ["numpy", "pandas", "matplotlib"]),
    ("statsmodels", 10.0, ["numpy", "scipy", "pandas", "patsy", "packaging"]),
    ("patsy", 0.23, ["numpy", "six"]),
    ("sympy", 6.0, ["mpmath"]),
    ("mpmath", 0.52, []),
    ("networkx", 1.6, []),
    ("pyarrow", 38.0, ["numpy"]),
    ("h5py", 5.0, ["numpy"]),
    ("numba", 3.8, ["numpy", "llvmlite"]),
    ("llvmlite", 42.0, []),
    ("jinja2", 0.13, ["markupsafe"]),
    ("markupsafe", 0.03, []),
    ("requests", 0.06, ["urllib3", "idna", "certifi", "charset-normalizer"]),
    ("urllib3", 0.13, []),
    ("idna", 0.07, []),
    ("certifi", 0.16, []),
    ("charset-normalizer", 0.14, []),
    ("tqdm", 0.08, []),
]
STACK_INSTALL = ["pandas", "scikit-learn", "matplotlib", "seaborn", "statsmodels", "sympy",
                 "networkx", "pyarrow", "h5py", "numba", "jinja2", "requests", "tqdm"]


def b2(data):
    return hashlib.blake2b(data, digest_size=32).hexdigest()


def rel_path(digest, filename):
    return f"packages/{digest[:2]}/{digest[2:4]}/{digest[4:]}/{filename}"


def put(root, rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def pseudo_random(name, size):
    return random.Random(name).randbytes(size)


def build_wheel(project, version, requires, payload_size):
    """A real wheel: an importable module, a payload file of random bytes (what a compiled
    extension is to a proxy: incompressible), METADATA, WHEEL, RECORD."""
    dist = project.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = (f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n"
                f"Summary: pipgate benchmark package\nRequires-Python: >=3.7\n")
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    metadata = metadata.encode()
    files = {
        f"{dist}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{dist}/_core.bin": pseudo_random(project, payload_size),
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL":
            b"Wheel-Version: 1.0\nGenerator: pipgate-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = ""
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{name},sha256={digest},{len(data)}\n"
    record += f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            zi = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 6))
            zi.compress_type = zipfile.ZIP_STORED if name.endswith(".bin") else zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    return f"{dist}-{version}-py3-none-any.whl", buf.getvalue(), metadata


def file_entry(rel, filename, data, metadata, version):
    sha = hashlib.sha256(data).hexdigest()
    return {"filename": filename, "url": f"https://files.pythonhosted.org/{rel}", "sha256": sha,
            "blake2b_256": b2(data), "size": len(data), "version": version,
            "meta_sha256": hashlib.sha256(metadata).hexdigest() if metadata else None}


def project_pages(pypi, project, entries):
    """PEP 503 HTML, PEP 691 JSON (api 1.1) and /pypi/<project>/json, as tests/e2e does."""
    def meta_attrs(e):
        if not e["meta_sha256"]:
            return ""
        return (f' data-dist-info-metadata="sha256={e["meta_sha256"]}"'
                f' data-core-metadata="sha256={e["meta_sha256"]}"')
    links = "".join(
        f'    <a href="{e["url"]}#sha256={e["sha256"]}" data-requires-python="&gt;=3.7"'
        f'{meta_attrs(e)}>{e["filename"]}</a><br />\n' for e in entries)
    html = ("<!DOCTYPE html>\n<html>\n  <head>\n"
            '    <meta name="pypi:repository-version" content="1.1">\n'
            f"    <title>Links for {project}</title>\n  </head>\n  <body>\n"
            f"    <h1>Links for {project}</h1>\n{links}  </body>\n</html>\n")
    files = []
    for e in entries:
        f = {"filename": e["filename"], "url": e["url"], "hashes": {"sha256": e["sha256"]},
             "requires-python": ">=3.7", "size": e["size"], "upload-time": UPLOAD_TIME,
             "yanked": False}
        if e["meta_sha256"]:
            f["core-metadata"] = {"sha256": e["meta_sha256"]}
            f["data-dist-info-metadata"] = {"sha256": e["meta_sha256"]}
        files.append(f)
    versions = sorted({e["version"] for e in entries})
    page = {"meta": {"api-version": "1.1", "_last-serial": 1234}, "name": project,
            "versions": versions, "files": files}
    put(pypi, f"simple/{project}/index.html", html.encode())
    body = json.dumps(page, indent=1).encode()
    put(pypi, f"simple/{project}/index.json", body)
    latest = entries[-1]
    urls = [{"filename": latest["filename"], "url": latest["url"], "size": latest["size"],
             "digests": {"sha256": latest["sha256"], "blake2b_256": latest["blake2b_256"]},
             "packagetype": "bdist_wheel", "python_version": "py3", "requires_python": ">=3.7",
             "upload_time_iso_8601": UPLOAD_TIME, "yanked": False}]
    doc = {"info": {"name": project, "version": latest["version"], "requires_python": ">=3.7",
                    "summary": "pipgate benchmark package"}, "urls": urls, "last_serial": 1234}
    put(pypi, f"pypi/{project}/json", json.dumps(doc, indent=1).encode())
    return len(body)


def main():
    root = sys.argv[1]
    scale = 1.0
    if len(sys.argv) > 3 and sys.argv[2] == "--scale":
        scale = float(sys.argv[3])
    pypi, files_root = os.path.join(root, "pypi"), os.path.join(root, "files")
    out = {"scale": scale, "objects": {}, "stack": {"install": STACK_INSTALL, "wheels": []}}
    projects = []

    def blob_wheel(key, name, mib):
        size = max(4096, int(mib * MiB * scale))
        data = pseudo_random(name, size)
        filename = f"{name}-1.0-py3-none-any.whl"
        rel = rel_path(b2(data), filename)
        put(files_root, rel, data)
        out["objects"][key] = {"host": "files.pythonhosted.org", "path": "/" + rel,
                               "size": size, "sha256": hashlib.sha256(data).hexdigest()}

    blob_wheel("big", "bigwheel", 150)
    blob_wheel("coalesce", "coalesce", 64)

    # Index pages for scenario 2: small (~2 KiB) and large (~2 MiB) PEP 691 JSON project pages.
    def index_project(key, project, n_files):
        entries = []
        rng = random.Random(project)
        for i in range(n_files):
            version = f"{i // 8}.{i % 8}.0"
            tag = ["py3-none-any", "cp311-cp311-manylinux_2_17_x86_64",
                   "cp312-cp312-win_amd64", "cp310-cp310-macosx_11_0_arm64"][i % 4]
            filename = f"{project}-{version}-{tag}.whl"
            digest = "%064x" % rng.getrandbits(256)
            rel = rel_path(digest, filename)
            entries.append({"filename": filename, "url": f"https://files.pythonhosted.org/{rel}",
                            "sha256": "%064x" % rng.getrandbits(256), "blake2b_256": digest,
                            "size": rng.randrange(10_000, 50_000_000), "version": version,
                            "meta_sha256": "%064x" % rng.getrandbits(256)})
        n = project_pages(pypi, project, entries)
        projects.append(project)
        out["objects"][key] = {"host": "pypi.org", "path": f"/simple/{project}/",
                               "size": n, "accept": "application/vnd.pypi.simple.v1+json"}

    index_project("small-page", "smallpkg", 3)
    # ~700 bytes of JSON per file: 3000 files make ~2 MiB.
    index_project("large-page", "bigproject", 3000)

    for project, mib, requires in STACK:
        filename, wheel, metadata = build_wheel(project, "1.0", requires,
                                                max(1024, int(mib * MiB * scale)))
        rel = rel_path(b2(wheel), filename)
        put(files_root, rel, wheel)
        put(files_root, rel + ".metadata", metadata)
        project_pages(pypi, project, [file_entry(rel, filename, wheel, metadata, "1.0")])
        projects.append(project)
        out["stack"]["wheels"].append({"project": project, "path": "/" + rel,
                                       "size": len(wheel)})

    links = "".join(f'    <a href="/simple/{p}/">{p}</a>\n' for p in projects)
    put(pypi, "simple/index.html",
        ("<!DOCTYPE html>\n<html>\n  <head>\n"
         '    <meta name="pypi:repository-version" content="1.1">\n'
         "    <title>Simple index</title>\n  </head>\n  <body>\n"
         f"{links}  </body>\n</html>\n").encode())
    put(pypi, "simple/index.json", json.dumps({
        "meta": {"api-version": "1.1", "_last-serial": 1234},
        "projects": [{"name": p, "_last-serial": 1234} for p in projects]}).encode())
    out["stack"]["bytes"] = sum(w["size"] for w in out["stack"]["wheels"])
    with open(os.path.join(root, "world.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
