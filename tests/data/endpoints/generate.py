# Regenerates botocore-1.43.11.txt (needs botocore 1.43; not run by the tests):
#   python3 generate.py | sed "s/ERR Partition does not support FIPS/UNSUPPORTED/"
import botocore.session
from botocore.regions import EndpointRulesetResolver
s = botocore.session.get_session()
loader = s.get_component('data_loader')
from botocore.endpoint_provider import EndpointProvider
part = loader.load_data('partitions')
for svc, name in [('sqs','sqs'),('cloudtrail','cloudtrail'),('sts','sts'),('s3','s3'),('sso','sso'),('sso-oidc','sso-oidc'),('dynamodb','dynamodb')]:
    rs = loader.load_service_model(svc, 'endpoint-rule-set-1')
    p = EndpointProvider(rs, part)
    for region in ['us-east-1','eu-west-1','us-gov-west-1','us-gov-east-1','cn-north-1','cn-northwest-1','us-iso-east-1', 'eusc-de-east-1']:
        for fips in (False, True):
            for ds in (False, True):
                params = {'Region':region,'UseFIPS':fips,'UseDualStack':ds}
                if svc=='sts': params['UseGlobalEndpoint']=False
                try:
                    e = p.resolve_endpoint(**params).url
                except Exception as ex:
                    e = 'ERR ' + str(ex)[:60]
                print(svc, region, int(fips), int(ds), e)
