app_name = "handoffs"
urlpatterns: list = []
