#!/usr/bin/env python3
"""IDR's API walkthrough, through idr-graph: every step of IDR's example notebook
(IDR_API_example_script.ipynb) in two GraphQL requests and one thumbnail request,
instead of one HTTP call per object.

    python3 examples/python/walkthrough.py                # http://127.0.0.1:8080
    python3 examples/python/walkthrough.py http://host:8080

Start a server first, for example on the bundled recordings:

    cargo run --release -- serve --offline

Needs only the standard library and `requests` (pip install requests). Offline, the
server answers from recordings; whatever they do not hold comes back as an error with
the code NOT_RECORDED, which this script prints and carries on.
"""

import argparse
import base64
import struct
import sys

import requests

SCREEN = 102  # idr0002-heriche-condensation/screenA
PLATE = 4554  # one of its plates
IMAGE = 122770  # an image with curated gene and phenotype annotations
WELL = 45217  # its well, which has a bulk-annotation row
DATASET = 51  # a non-HCS dataset, for thumbnails
KEY, VALUE = "Gene Symbol", "ade8"

# Steps 1-8 in one request: everything about the screen, the plate, the image and the well.
OBJECTS = """
query Objects($screen: ID!, $plate: ID!, $image: ID!, $well: ID!, $dataset: ID!) {
  screen(id: $screen) {
    idrId
    name
    annotations { namespace keyValues { key value } }
    plates(first: 100) { totalCount nodes { idrId name } }
    fileAnnotations { id name size mimetype downloadUrl }
  }
  plate(id: $plate) {
    idrId
    name
    rowLabels
    columnLabels
    wells(field: 0) { label images { idrId name } }
  }
  image(id: $image) {
    idrId
    name
    width
    height
    sizeZ
    sizeT
    sizeC
    pixelsType
    pixelSize { x y z }
    channels { label color emissionWavelength }
    annotations { namespace keyValues { key value } }
    thumbnailUrl
    viewerUrl
  }
  well(id: $well) {
    idrId
    label
    bulkAnnotation { columns values }
  }
  dataset(id: $dataset) {
    name
    images(first: 2) { nodes { idrId name } }
  }
}
"""

# Steps 9-10 in one request: the values of a key, and the images with one of them.
SEARCH = """
query Search($key: String!, $value: String!) {
  searchValues(key: $key) { value count }
  searchImages(where: {key: $key, value: $value}, first: 50) {
    totalCount
    nodes { idrId name webclientUrl viewerUrl }
  }
}
"""


class Server:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "idr-graph walkthrough.py"

    def graphql(self, query, variables):
        """The data of one GraphQL request; each error is printed with its code."""
        response = self.http.post(
            f"{self.base}/graphql", json={"query": query, "variables": variables}, timeout=120
        )
        response.raise_for_status()
        body = response.json()
        for error in body.get("errors", []):
            code = error.get("extensions", {}).get("code", "ERROR")
            path = ".".join(str(p) for p in error.get("path", []))
            print(f"  ! {code} at {path or '(request)'}: {error['message']}")
        return body.get("data") or {}

    def thumbnails(self, ids):
        """JPEG bytes by image id (None: IDR has none), and the errors by id."""
        joined = ",".join(str(i) for i in ids)
        response = self.http.get(f"{self.base}/thumbnails", params={"ids": joined}, timeout=120)
        response.raise_for_status()
        body = response.json()
        jpegs = {}
        for image_id, uri in body["thumbnails"].items():
            jpegs[int(image_id)] = None if uri is None else base64.b64decode(uri.split(",", 1)[1])
        failed = {}
        for error in body["errors"]:
            for image_id in error["ids"]:
                failed[int(image_id)] = error["extensions"]["code"]
        return jpegs, failed


def jpeg_size(data):
    """(width, height) from a JPEG's start-of-frame marker."""
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            break
        marker = data[at + 1]
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    return None


def heading(number, text):
    print(f"\n{number}. {text}")


def key_values(annotations, indent="  "):
    for annotation in annotations or []:
        print(f"{indent}[{annotation['namespace'] or 'no namespace'}]")
        for pair in annotation["keyValues"]:
            print(f"{indent}  {pair['key']}: {pair['value']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("server", nargs="?", default="http://127.0.0.1:8080")
    server = Server(parser.parse_args().server)

    print(f"Request 1 of 3: screen {SCREEN}, plate {PLATE}, image {IMAGE}, well {WELL}")
    data = server.graphql(
        OBJECTS,
        {"screen": SCREEN, "plate": PLATE, "image": IMAGE, "well": WELL, "dataset": DATASET},
    )
    screen, plate, image = data.get("screen"), data.get("plate"), data.get("image")
    well, dataset = data.get("well"), data.get("dataset")

    heading(1, "Study information: the screen's key/values")
    if screen:
        print(f"  {screen['name']} (screen {screen['idrId']})")
        key_values(screen["annotations"], "    ")

    heading(2, "The plates of the screen")
    if screen and screen["plates"]:
        print(f"  {screen['plates']['totalCount']} plates")
        for p in screen["plates"]["nodes"]:
            print(f"    plate {p['idrId']}: {p['name']}")

    heading(3, "The plate's grid: each well and its image at field 0")
    if plate:
        rows, columns = plate["rowLabels"] or [], plate["columnLabels"] or []
        wells = plate["wells"] or []
        print(f"  {plate['name']}: {len(rows)} rows x {len(columns)} columns, {len(wells)} wells")
        for w in wells[:5]:
            images = ", ".join(f"{i['idrId']} {i['name']}" for i in w["images"])
            print(f"    {w['label']}: {images}")
        if len(wells) > 5:
            print(f"    … and {len(wells) - 5} more wells")

    heading(4, "Image details")
    if image:
        print(f"  {image['name']} (image {image['idrId']})")
        print(
            f"    {image['width']} x {image['height']} pixels, "
            f"{image['sizeZ']} z, {image['sizeT']} t, {image['sizeC']} channels, {image['pixelsType']}"
        )
        size = image["pixelSize"] or {}
        print(f"    pixel size x={size.get('x')} y={size.get('y')} z={size.get('z')}")
        for c in image["channels"] or []:
            print(f"    channel {c['label']}: colour #{c['color']}, emission {c['emissionWavelength']}")

    heading(5, "The image's key/values")
    if image:
        key_values(image["annotations"])

    heading(6, "Thumbnails")
    if image:
        print(f"  image {image['idrId']}: {image['thumbnailUrl']}")
        print(f"    open in IDR's viewer: {image['viewerUrl']}")
    if dataset:
        ids = [i["idrId"] for i in dataset["images"]["nodes"]]
        print(f"  Request 2 of 3: the thumbnails of dataset {DATASET}'s first images ({dataset['name']})")
        jpegs, failed = server.thumbnails(ids)
        for image_id in map(int, ids):
            if image_id in failed:
                print(f"    image {image_id}: no thumbnail ({failed[image_id]})")
            elif jpegs.get(image_id) is None:
                print(f"    image {image_id}: IDR has no thumbnail")
            else:
                width, height = jpeg_size(jpegs[image_id]) or ("?", "?")
                print(f"    image {image_id}: {width} x {height} JPEG, {len(jpegs[image_id])} bytes")

    heading(7, "The well's bulk-annotation row")
    if well:
        row = well["bulkAnnotation"]
        if row is None:
            print(f"  well {well['idrId']} ({well['label']}) has no bulk-annotation row")
        else:
            print(f"  well {well['idrId']} ({well['label']}): {len(row['columns'])} columns")
            for column, value in list(zip(row["columns"], row["values"]))[:12]:
                print(f"    {column}: {value}")

    heading(8, "The screen's file annotations, with download URLs")
    if screen:
        for f in screen["fileAnnotations"] or []:
            size = f"{int(f['size']):,} bytes" if f["size"] is not None else "size unknown"
            print(f"  {f['name']} ({size}, {f['mimetype']}): {f['downloadUrl']}")

    print(f"\nRequest 3 of 3: the values of {KEY!r}, and the images with {KEY} = {VALUE}")
    found = server.graphql(SEARCH, {"key": KEY, "value": VALUE})

    heading(9, f"Every value of {KEY!r}, with its number of images")
    values = found.get("searchValues") or []
    print(f"  {len(values)} values; the most frequent:")
    for v in sorted(values, key=lambda v: -v["count"])[:10]:
        print(f"    {v['value']!r}: {v['count']} images")

    heading(10, f"Images whose {KEY} is {VALUE}, with their links")
    hits = found.get("searchImages")
    if hits:
        print(f"  {hits['totalCount']} images")
        for hit in hits["nodes"][:5]:
            print(f"    image {hit['idrId']}: {hit['webclientUrl']}")
        if len(hits["nodes"]) > 5:
            print(f"    … and {len(hits['nodes']) - 5} more")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except requests.RequestException as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
