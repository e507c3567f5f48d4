"""The AWS side of the Lambda runtime test, against moto: real S3 -> SQS and
S3 -> SNS bucket notifications, SNS -> SQS subscriptions, and the oracle
counts of fixture objects. Every command prints one JSON document.

usage:
  lambda_triggers.py expect FIXTURES KEY...
      {"records", "events", "dead_letters"} for these fixture objects taken
      together: events are the distinct placeable events (by eventID, or the
      whole record without one), dead_letters the records without a usable
      eventTime.
  lambda_triggers.py s3-sqs ENDPOINT BUCKET QUEUE FIXTURES CORRUPT_KEY KEY...
      Creates the bucket and the queue, sends s3:ObjectCreated:* to the queue,
      uploads the fixture objects KEY... (their keys relative to FIXTURES) and
      a corrupt gzip object at CORRUPT_KEY, then receives every message
      (the s3:TestEvent too): {"queue_arn", "messages": [...]}.
  lambda_triggers.py s3-sns ENDPOINT BUCKET TOPIC QUEUE FIXTURES KEY...
      The same through an SNS topic; the queue subscribes to the topic and
      each message is SNS's JSON envelope: {"topic_arn", "subscription_arn",
      "envelopes": [...]}.
  lambda_triggers.py cloudtrail-sns ENDPOINT BUCKET TOPIC QUEUE FIXTURES KEY...
      Uploads the objects (no bucket notification) and publishes CloudTrail's
      own notification {"s3Bucket", "s3ObjectKey": [...]} to the topic;
      output as for s3-sns.
Test use only: the endpoint must be on loopback.
"""
import datetime
import gzip
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import boto3

REGION = "us-east-1"
# Gzip's magic and header, then bytes no inflater accepts.
CORRUPT = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff\xfe this is not deflate data \x00" * 8


def client(endpoint, service):
    if urlparse(endpoint).hostname not in ("127.0.0.1", "localhost"):
        sys.exit(f"refusing a non-loopback endpoint: {endpoint}")
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def usable_time(record):
    value = record.get("eventTime")
    if not isinstance(value, str):
        return False
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def expect(fixtures, keys):
    records, events, dead = 0, set(), set()
    for key in keys:
        with gzip.open(Path(fixtures) / key) as f:
            for record in json.load(f)["Records"]:
                records += 1
                identity = record.get("eventID") or json.dumps(record, sort_keys=True)
                (events if usable_time(record) else dead).add(identity)
    return {"records": records, "events": len(events), "dead_letters": len(dead)}


def upload(s3, bucket, fixtures, keys):
    for key in keys:
        s3.upload_file(str(Path(fixtures) / key), bucket, key)


def queue(sqs, name):
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive(sqs, url, wanted):
    """Every message on the queue; `wanted` of them within 20 seconds."""
    messages, deadline = [], time.monotonic() + 20
    while len(messages) < wanted and time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                  AttributeNames=["All"], MessageAttributeNames=["All"])
        messages += got.get("Messages", [])
    if len(messages) != wanted:
        sys.exit(f"expected {wanted} messages on {url}, got {len(messages)}: {messages}")
    return messages


def s3_sqs(endpoint, bucket, queue_name, fixtures, corrupt_key, keys):
    s3, sqs = client(endpoint, "s3"), client(endpoint, "sqs")
    s3.create_bucket(Bucket=bucket)
    url, arn = queue(sqs, queue_name)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"Id": "trailsearch", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}],
    })
    upload(s3, bucket, fixtures, keys)
    s3.put_object(Bucket=bucket, Key=corrupt_key, Body=CORRUPT)
    # One message per object, and the s3:TestEvent S3 sends on configuration.
    return {"queue_arn": arn, "messages": receive(sqs, url, len(keys) + 2)}


def topic_with_queue(endpoint, topic_name, queue_name):
    sns, sqs = client(endpoint, "sns"), client(endpoint, "sqs")
    topic_arn = sns.create_topic(Name=topic_name)["TopicArn"]
    url, arn = queue(sqs, queue_name)
    subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    return sns, sqs, topic_arn, url, subscription


def envelopes(sqs, url, wanted):
    return [json.loads(m["Body"]) for m in receive(sqs, url, wanted)]


def s3_sns(endpoint, bucket, topic_name, queue_name, fixtures, keys):
    s3 = client(endpoint, "s3")
    sns, sqs, topic_arn, url, subscription = topic_with_queue(endpoint, topic_name, queue_name)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "TopicConfigurations": [{"Id": "trailsearch", "TopicArn": topic_arn, "Events": ["s3:ObjectCreated:*"]}],
    })
    upload(s3, bucket, fixtures, keys)
    return {"topic_arn": topic_arn, "subscription_arn": subscription,
            "envelopes": envelopes(sqs, url, len(keys) + 1)}


def cloudtrail_sns(endpoint, bucket, topic_name, queue_name, fixtures, keys):
    s3 = client(endpoint, "s3")
    sns, sqs, topic_arn, url, subscription = topic_with_queue(endpoint, topic_name, queue_name)
    s3.create_bucket(Bucket=bucket)
    upload(s3, bucket, fixtures, keys)
    sns.publish(TopicArn=topic_arn, Message=json.dumps({"s3Bucket": bucket, "s3ObjectKey": keys}))
    return {"topic_arn": topic_arn, "subscription_arn": subscription,
            "envelopes": envelopes(sqs, url, 1)}


def main(argv):
    command, args = argv[0], argv[1:]
    if command == "expect":
        out = expect(args[0], args[1:])
    elif command == "s3-sqs":
        out = s3_sqs(*args[:5], args[5:])
    elif command == "s3-sns":
        out = s3_sns(*args[:5], args[5:])
    elif command == "cloudtrail-sns":
        out = cloudtrail_sns(*args[:5], args[5:])
    else:
        sys.exit(__doc__)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
