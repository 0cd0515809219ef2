def test_vendor(db):
    from django.db import connection
    print("VENDOR", connection.vendor)
