"""network.yml: two AZs, public and private subnets, NAT by profile, S3 endpoint, ECS cluster."""

from __future__ import annotations

import ipaddress


def subnets(rendered):
    return rendered.resources_of_type("AWS::EC2::Subnet")


def test_four_subnets_over_two_azs(render):
    found = subnets(render("network", "prod"))
    assert set(found) == {"PublicSubnetA", "PublicSubnetB", "PrivateSubnetA", "PrivateSubnetB"}
    az_index = {
        name: s["Properties"]["AvailabilityZone"]["Fn::Select"][0] for name, s in found.items()
    }
    assert az_index == {
        "PublicSubnetA": 0,
        "PublicSubnetB": 1,
        "PrivateSubnetA": 0,
        "PrivateSubnetB": 1,
    }


def test_subnet_cidrs_are_distinct_slash_20s_inside_the_vpc(render):
    rendered = render("network", "prod")
    vpc = ipaddress.ip_network(rendered.parameters["VpcCidr"])
    blocks = []
    for subnet in subnets(rendered).values():
        index, cidr = subnet["Properties"]["CidrBlock"]["Fn::Select"]
        base, count, host_bits = cidr["Fn::Cidr"]
        assert base == str(vpc) and count == 4
        # Fn::Cidr carves `count` blocks of `host_bits` host bits, in order, from the VPC.
        blocks.append(list(vpc.subnets(new_prefix=32 - host_bits))[index])
    assert len(set(blocks)) == 4
    assert all(block.prefixlen == 20 and block.subnet_of(vpc) for block in blocks)


def test_no_subnet_gives_public_ips_automatically(render):
    for subnet in subnets(render("network", "prod")).values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


def test_prod_has_one_nat_gateway_for_the_private_route_table(render):
    rendered = render("network", "prod")
    assert list(rendered.resources_of_type("AWS::EC2::NatGateway")) == ["NatGatewayA"]
    route = rendered.resources["PrivateDefaultRoute"]["Properties"]
    assert route == {
        "RouteTableId": {"Ref": "PrivateRouteTable"},
        "DestinationCidrBlock": "0.0.0.0/0",
        "NatGatewayId": {"Ref": "NatGatewayA"},
    }


def test_dev_has_no_nat_and_no_default_route_from_private_subnets(render):
    rendered = render("network", "dev")
    assert not rendered.resources_of_type("AWS::EC2::NatGateway")
    assert not rendered.resources_of_type("AWS::EC2::EIP")
    assert "PrivateDefaultRoute" not in rendered.resources


def test_s3_gateway_endpoint_serves_both_route_tables(render):
    (endpoint,) = render("network", "dev").resources_of_type("AWS::EC2::VPCEndpoint").values()
    assert endpoint["Properties"]["VpcEndpointType"] == "Gateway"
    assert endpoint["Properties"]["RouteTableIds"] == [
        {"Ref": "PublicRouteTable"},
        {"Ref": "PrivateRouteTable"},
    ]


def test_cluster_container_insights_follows_the_parameter(render):
    for value in ("enabled", "disabled"):
        cluster = render("network", ContainerInsights=value).resources["Cluster"]["Properties"]
        assert cluster["ClusterSettings"] == [{"Name": "containerInsights", "Value": value}]


def test_vpc_flow_logs_record_rejected_traffic(render):
    (flow,) = render("network").resources_of_type("AWS::EC2::FlowLog").values()
    assert flow["Properties"]["TrafficType"] == "REJECT"
    assert flow["Properties"]["ResourceId"] == {"Ref": "Vpc"}
