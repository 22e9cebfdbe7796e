"""Builds what the fake origins serve: real wheels, their PEP 658 .metadata files, the PEP 503
HTML and PEP 691 JSON index pages, the /pypi/<project>/json API, opaque blobs of chosen sizes,
and corrupt files whose bytes do not match the BLAKE2b-256 in their path.

usage: make_world.py ROOT [--blob NAME:SIZE]... [--corrupt NAME:SIZE]...
  ROOT/pypi/    simple/index.{html,json}, simple/<project>/index.{html,json},
                pypi/<project>/json, pypi/<project>/<version>/json
  ROOT/files/   packages/<b2[0:2]>/<b2[2:4]>/<b2[4:]>/<file> (+ <file>.metadata for wheels)
  ROOT/world.env  shell assignments the test scripts source (paths, sizes, digests)
SIZE takes a K, M or G suffix (binary). Blob content is pseudo-random, seeded by its name, so
every run serves the same bytes.

Projects (dependencies between them, so pip has to resolve):
  tiny-pkg 0.9, 1.0     no dependencies
  lib-a 1.0             tiny-pkg>=1.0
  lib-b 2.0             lib-a, tiny-pkg
  app-pkg 1.0           lib-a, lib-b>=2
"""
import base64
import hashlib
import io
import json
import os
import random
import sys
import zipfile

PROJECTS = {
    "tiny-pkg": [("0.9", []), ("1.0", [])],
    "lib-a": [("1.0", ["tiny-pkg>=1.0"])],
    "lib-b": [("2.0", ["lib-a", "tiny-pkg"])],
    "app-pkg": [("1.0", ["lib-a", "lib-b>=2"])],
}
UPLOAD_TIME = "2024-01-02T03:04:05.000000Z"


def b2(data):
    return hashlib.blake2b(data, digest_size=32).hexdigest()


def rel_path(digest, filename):
    return f"packages/{digest[:2]}/{digest[2:4]}/{digest[4:]}/{filename}"


def put(root, rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def build_wheel(project, version, requires):
    dist = project.replace("-", "_")
    module = dist
    info = f"{dist}-{version}.dist-info"
    metadata = (f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n"
                f"Summary: pipgate e2e test package\nRequires-Python: >=3.7\n")
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    metadata = metadata.encode()
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL":
            b"Wheel-Version: 1.0\nGenerator: pipgate-e2e\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
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
            info_z = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 6))
            z.writestr(info_z, data)
    return f"{dist}-{version}-py3-none-any.whl", buf.getvalue(), metadata


def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text[-1].upper() in units:
        return int(text[:-1]) * units[text[-1].upper()]
    return int(text)


def pseudo_random(name, size):
    rng = random.Random(name)
    return rng.randbytes(size)


def main():
    root = sys.argv[1]
    blobs, corrupt = [], []
    args = sys.argv[2:]
    while args:
        opt, val = args[0], args[1]
        args = args[2:]
        name, size = val.split(":")
        (blobs if opt == "--blob" else corrupt).append((name, parse_size(size)))
    pypi, files_root = os.path.join(root, "pypi"), os.path.join(root, "files")
    env = {}

    index_projects = []
    for project, releases in PROJECTS.items():
        entries = []
        api_releases = {}
        for version, requires in releases:
            filename, wheel, metadata = build_wheel(project, version, requires)
            rel = rel_path(b2(wheel), filename)
            put(files_root, rel, wheel)
            put(files_root, rel + ".metadata", metadata)
            entry = {
                "filename": filename,
                "blake2b_256": b2(wheel),
                "url": f"https://files.pythonhosted.org/{rel}",
                "sha256": hashlib.sha256(wheel).hexdigest(),
                "meta_sha256": hashlib.sha256(metadata).hexdigest(),
                "size": len(wheel),
                "version": version,
            }
            entries.append(entry)
            api_releases[version] = entry
            key = f"{project}_{version}".upper().replace("-", "_").replace(".", "_")
            env[f"WHEEL_{key}"] = "/" + rel
            env[f"WHEEL_{key}_SHA256"] = entry["sha256"]
        index_projects.append(project)

        # PEP 503 HTML with PEP 658/714 attributes (the same body serves text/html and
        # application/vnd.pypi.simple.v1+html).
        links = "".join(
            f'    <a href="{e["url"]}#sha256={e["sha256"]}" data-requires-python="&gt;=3.7" '
            f'data-dist-info-metadata="sha256={e["meta_sha256"]}" '
            f'data-core-metadata="sha256={e["meta_sha256"]}">{e["filename"]}</a><br />\n'
            for e in entries)
        html = ("<!DOCTYPE html>\n<html>\n  <head>\n"
                '    <meta name="pypi:repository-version" content="1.1">\n'
                f"    <title>Links for {project}</title>\n  </head>\n  <body>\n"
                f"    <h1>Links for {project}</h1>\n{links}  </body>\n</html>\n")
        # PEP 691 JSON (api-version 1.1: versions and size, PEP 700).
        page = {
            "meta": {"api-version": "1.1", "_last-serial": 1234},
            "name": project,
            "versions": [v for v, _ in releases],
            "files": [{
                "filename": e["filename"], "url": e["url"], "hashes": {"sha256": e["sha256"]},
                "requires-python": ">=3.7",
                "core-metadata": {"sha256": e["meta_sha256"]},
                "data-dist-info-metadata": {"sha256": e["meta_sha256"]},
                "size": e["size"], "upload-time": UPLOAD_TIME, "yanked": False,
            } for e in entries],
        }
        put(pypi, f"simple/{project}/index.html", html.encode())
        put(pypi, f"simple/{project}/index.json", json.dumps(page, indent=1).encode())

        # JSON API: /pypi/<project>/json and /pypi/<project>/<version>/json.
        def urls(e):
            return [{"filename": e["filename"], "url": e["url"], "size": e["size"],
                     "digests": {"sha256": e["sha256"], "blake2b_256": e["blake2b_256"]},
                     "packagetype": "bdist_wheel", "python_version": "py3",
                     "requires_python": ">=3.7", "upload_time_iso_8601": UPLOAD_TIME,
                     "yanked": False}]
        for version, requires in releases:
            info = {"name": project, "version": version, "requires_dist": requires or None,
                    "requires_python": ">=3.7", "summary": "pipgate e2e test package"}
            doc = {"info": info, "urls": urls(api_releases[version]), "last_serial": 1234}
            put(pypi, f"pypi/{project}/{version}/json", json.dumps(doc, indent=1).encode())
        latest = releases[-1][0]
        doc = {"info": {"name": project, "version": latest, "requires_python": ">=3.7",
                        "requires_dist": releases[-1][1] or None,
                        "summary": "pipgate e2e test package"},
               "releases": {v: urls(api_releases[v]) for v, _ in releases},
               "urls": urls(api_releases[latest]), "last_serial": 1234}
        put(pypi, f"pypi/{project}/json", json.dumps(doc, indent=1).encode())

    links = "".join(f'    <a href="/simple/{p}/">{p}</a>\n' for p in index_projects)
    put(pypi, "simple/index.html",
        ("<!DOCTYPE html>\n<html>\n  <head>\n"
         '    <meta name="pypi:repository-version" content="1.1">\n'
         "    <title>Simple index</title>\n  </head>\n  <body>\n"
         f"{links}  </body>\n</html>\n").encode())
    put(pypi, "simple/index.json", json.dumps({
        "meta": {"api-version": "1.1", "_last-serial": 1234},
        "projects": [{"name": p, "_last-serial": 1234} for p in index_projects]}).encode())

    for name, size in blobs:
        data = pseudo_random(name, size)
        filename = f"{name}-1.0.tar.gz"
        rel = rel_path(b2(data), filename)
        put(files_root, rel, data)
        key = name.upper().replace("-", "_")
        env[f"BLOB_{key}"] = "/" + rel
        env[f"BLOB_{key}_SIZE"] = str(size)
        env[f"BLOB_{key}_SHA256"] = hashlib.sha256(data).hexdigest()
    for name, size in corrupt:
        # The path names the digest of the bytes as published; the origin serves other bytes
        # (same length, a flipped byte in the middle: what a broken mirror or disk would do).
        good = pseudo_random(name, size)
        bad = bytearray(good)
        bad[size // 2] ^= 0xFF
        filename = f"{name}-1.0-py3-none-any.whl"
        rel = rel_path(b2(good), filename)
        put(files_root, rel, bytes(bad))
        key = name.upper().replace("-", "_")
        env[f"CORRUPT_{key}"] = "/" + rel
        env[f"CORRUPT_{key}_SIZE"] = str(size)

    with open(os.path.join(root, "world.env"), "w") as f:
        for k, v in sorted(env.items()):
            f.write(f"{k}='{v}'\n")


if __name__ == "__main__":
    main()
