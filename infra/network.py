"""The VPC the Batch workers (and, for a datacube source, the functions) run in."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from .settings import Settings


class Network(Construct):
    """An existing VPC (``vpc_id``) or a new one: private subnets behind NAT, S3 and DynamoDB gateway
    endpoints (product writes and task-row updates do not pay NAT data charges), flow logs."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings, flow_log_group: logs.ILogGroup) -> None:
        super().__init__(scope, id)
        if settings.vpc_id:
            self.vpc: ec2.IVpc = ec2.Vpc.from_vpc_attributes(
                self, "Vpc", vpc_id=settings.vpc_id, availability_zones=list(settings.availability_zones),
                private_subnet_ids=list(settings.private_subnet_ids))
            return
        vpc = ec2.Vpc(
            self, "Vpc", max_azs=2, nat_gateways=settings.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(name="workers", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=18),
            ],
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                               "DynamoDB": ec2.GatewayVpcEndpointOptions(
                                   service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)})
        vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
                         traffic_type=ec2.FlowLogTrafficType.REJECT)
        self.vpc = vpc

    @property
    def worker_subnets(self) -> ec2.SubnetSelection:
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
