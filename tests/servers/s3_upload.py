"""Creates a bucket on a local S3 endpoint and uploads a folder into it.

usage: s3_upload.py ENDPOINT BUCKET DIR [KEY_PREFIX]
Keys are the files' paths relative to DIR (after KEY_PREFIX). Test use only:
the endpoint must be on loopback.
"""
import sys
from pathlib import Path
from urllib.parse import urlparse

import boto3

endpoint, bucket, folder = sys.argv[1:4]
prefix = sys.argv[4] if len(sys.argv) > 4 else ""
if urlparse(endpoint).hostname not in ("127.0.0.1", "localhost"):
    sys.exit(f"refusing a non-loopback endpoint: {endpoint}")
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
s3.create_bucket(Bucket=bucket)
root = Path(folder)
count = 0
for path in sorted(p for p in root.rglob("*") if p.is_file()):
    s3.upload_file(str(path), bucket, prefix + path.relative_to(root).as_posix())
    count += 1
print(count)
