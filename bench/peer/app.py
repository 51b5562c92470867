"""A reconstruction of Zeus's original front door, for the submit benchmark only (not product code).

The original design: three Flask apps, each under gunicorn with one sync worker, behind Caddy
(least_conn); Redis holds each job's status in a hash and the prompts waiting for a worker in a
list. A submission is validated, given an id and a seed, and written with one pipelined
HSET + LPUSH (one round trip, no MULTI/EXEC). Redis runs as Zeus's does (append-only file,
fsync every second), started by the benchmark (bench/api/systems.ts).

It takes the body Zeus's `submitPrompt` takes (a GraphQL request whose variables hold the
input) and answers in the shape Zeus answers, so that one load generator sends and checks the
same thing everywhere; it reads the variables and does not parse the GraphQL document.

    PEER_REDIS_URL=redis://127.0.0.1:6390 python3 -m gunicorn --workers 1 app:app
"""

import json
import os
import random
import time
import uuid

import redis
from flask import Flask, jsonify, request

JOB_KEY = "job:{}"
QUEUE_KEY = "prompts"
MAX_PROMPT = 2000
SIZES = {"width": (64, 1280, 768), "height": (64, 1280, 512), "numFrames": (9, 257, 121)}

app = Flask(__name__)
store = redis.Redis.from_url(os.environ["PEER_REDIS_URL"])


def bad_input(message):
    return jsonify(errors=[{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]), 400


@app.post("/graphql")
def submit():
    body = request.get_json(silent=True)
    variables = body.get("variables") if isinstance(body, dict) else None
    job = variables.get("input") if isinstance(variables, dict) else None
    if not isinstance(job, dict):
        return bad_input("the body must be a JSON object with variables.input")
    prompt = job.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > MAX_PROMPT:
        return bad_input(f"prompt must be 1 to {MAX_PROMPT} characters")
    settings = {"prompt": prompt, "seed": random.randrange(2**31)}
    for name, (low, high, default) in SIZES.items():
        value = job.get(name, default)
        if not isinstance(value, int) or not low <= value <= high:
            return bad_input(f"{name} must be a whole number from {low} to {high}")
        settings[name] = value
    job_id = str(uuid.uuid4())
    pipe = store.pipeline(transaction=False)
    pipe.hset(JOB_KEY.format(job_id), mapping={
        "status": "queued",
        "settings": json.dumps(settings),
        "created": time.time(),
    })
    pipe.lpush(QUEUE_KEY, json.dumps({"id": job_id, **settings}))
    _, queue_length = pipe.execute()
    # The worker takes prompts from the list's tail: the newest is last in line.
    return jsonify(data={"submitPrompt": {
        "id": job_id,
        "status": "QUEUED",
        "queuePosition": queue_length,
        "settings": {"seed": settings["seed"]},
    }})
