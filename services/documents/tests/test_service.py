"""The documents service reports its object store, its scanner and its database."""


def test_health_reports_s3_clamd_and_database(start_services, seaweedfs, clamd, rpc):
    start_services("documents", **seaweedfs.settings, **clamd.settings)
    with rpc() as cluster:
        report = cluster.documents.health()
    assert report["status"] == "ok", report
    assert set(report["dependencies"]) == {"database", "s3", "clamd"}


def test_health_reports_s3_failing_with_wrong_keys(start_services, seaweedfs, clamd, rpc):
    start_services("documents", **{**seaweedfs.settings, "S3_SECRET_KEY": "wrong-secret"}, **clamd.settings)
    with rpc() as cluster:
        report = cluster.documents.health()
    assert report["status"] == "failing"
    assert report["dependencies"]["s3"]["status"] == "failing"
    assert report["dependencies"]["clamd"]["status"] == "ok"
