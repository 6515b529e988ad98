"""Fixtures for jobs over RabbitMQ and PostgreSQL (the worker and fault-injection tests).

Each test uses queues of its own (a unique prefix), deleted afterwards, so runs sharing a
RabbitMQ never take each other's messages. A module's own fixture of the same name wins.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from events.db import make_engine
from events.store import EventStore
from imaging.blobs import BlobStore
from tests.conftest import RABBITMQ_URL, service_missing
from tests.integration.jobs_support import delete_queues, new_project, running_relay
from workers.broker import make_broker, ping_broker
from workers.job_runner import JobContext
from workers.runtime import JobWorkers


@pytest.fixture
def rabbitmq_url() -> str:
    ok, detail = ping_broker(RABBITMQ_URL)
    if not ok:
        service_missing("RabbitMQ", detail)
    return RABBITMQ_URL


@pytest.fixture
def prefix(rabbitmq_url):
    prefix = f"lineage_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield prefix
    delete_queues(rabbitmq_url, prefix)


@pytest.fixture
def pg_url(postgres_url) -> str:
    return postgres_url


@pytest.fixture
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("rabbit-data")


@pytest.fixture
def context(pg_url, data_dir, monkeypatch):
    monkeypatch.setenv("LINEAGE_DATA_DIR", str(data_dir))
    engine = make_engine(pg_url)
    yield JobContext(store=EventStore(engine), blobs=BlobStore(data_dir / "blobs"))
    engine.dispose()


@pytest.fixture
def relay(context, rabbitmq_url, prefix):
    with running_relay(context.store, rabbitmq_url, prefix) as thread:
        yield thread


@pytest.fixture
def workers(context, rabbitmq_url, prefix):
    broker = make_broker(rabbitmq_url, set_global=False)
    workers = JobWorkers(broker, context, prefix, threads=2).start()
    yield workers
    workers.stop()
    broker.close()


@pytest.fixture
def project(context):
    user = str(uuid.uuid4())
    project_id, asset_id = new_project(context.store, user)
    return user, project_id, asset_id
