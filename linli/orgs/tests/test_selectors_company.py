import pytest

from linli.orgs.models import OrgKind
from linli.orgs.selectors import property_company_of
from linli.orgs.tests import factories as orgs_f


@pytest.mark.django_db
def test_property_company_of_an_estate_is_the_active_company_serving_it(world):
    committee = orgs_f.organization(kind=OrgKind.COMMUNITY_COMMITTEE, name="学府社区居委会")
    committee.regions.set([world.a.estate])
    retired = orgs_f.organization(kind=OrgKind.PROPERTY_COMPANY, name="旧物业")
    retired.regions.set([world.a.estate])
    retired.is_active = False
    retired.save()
    serving = orgs_f.organization(kind=OrgKind.PROPERTY_COMPANY, name="安居物业")
    serving.regions.set([world.a.estate])

    assert property_company_of(world.a.estate) == serving
    assert property_company_of(world.b.estate) is None
