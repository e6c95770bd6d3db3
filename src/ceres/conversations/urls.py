from django.urls import path

from ceres.conversations import inbox_views, status_views, views

app_name = "conversations"
urlpatterns = [
    path("", inbox_views.inbox_page, name="inbox"),
    path("<id:conversation_id>/", views.conversation_page, name="detail"),
    path("<id:conversation_id>/messages/", views.message_add, name="message"),
    path("<id:conversation_id>/saved-reply/", views.saved_reply_insert, name="saved_reply"),
    path("<id:conversation_id>/update/", views.conversation_update, name="update"),
    path("accounts/<id:account_id>/card/", status_views.account_card, name="account_card"),
]
