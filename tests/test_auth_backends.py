from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext


def test_it_grants_user_and_group_permissions_with_one_query(django_user_model):
    user = django_user_model.objects.create_user("sari")
    group = Group.objects.create(name="Penjual")
    group.permissions.add(Permission.objects.get(codename="change_customer"))
    user.groups.add(group)
    user.user_permissions.add(Permission.objects.get(codename="view_opportunity"))
    user = django_user_model.objects.get(pk=user.pk)
    with CaptureQueriesContext(connection) as captured:
        assert user.has_perm("crm.change_customer")
        assert user.has_perm("crm.view_opportunity")
        assert not user.has_perm("crm.delete_customer")
        assert user.has_module_perms("crm")
    assert len(captured) == 1


def test_an_inactive_user_has_no_permissions(django_user_model):
    user = django_user_model.objects.create_superuser("boss", "", "x", is_active=False)
    assert not user.has_perm("crm.view_customer")


def test_a_superuser_has_every_permission(django_user_model):
    user = django_user_model.objects.create_superuser("boss", "", "x")
    assert user.get_all_permissions() >= {"crm.delete_customer", "auth.add_user"}
