"""Each stack of the tests takes four loopback ports the OS had free, never one port twice."""

import socket

from local.settings import HOST, Settings, free_ports


def test_the_ports_are_different_and_free(tmp_path):
    ports = free_ports(20)
    assert len(set(ports)) == 20
    for port in ports:  # nothing listens there: each can be bound again
        with socket.socket() as sock:
            sock.bind((HOST, port))


def test_a_stack_on_free_ports_has_four_different_ones(tmp_path):
    settings = Settings.on_free_ports(tmp_path)
    ports = {settings.s3_port, settings.snowflake_port, settings.api_port, settings.postgres_port}
    assert len(ports) == 4
