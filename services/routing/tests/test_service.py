"""The routing service answers RPC and reports its database."""


def test_health_reports_the_database(start_services, rpc):
    start_services("routing")
    with rpc() as cluster:
        report = cluster.routing.health()
    assert report == {
        "service": "routing",
        "status": "ok",
        "dependencies": {
            "database": {"status": "ok", "duration_ms": report["dependencies"]["database"]["duration_ms"]}
        },
    }
