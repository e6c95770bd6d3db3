from django.urls import path

from ceres.tracker import bug_views, feature_views, issue_views, standup_views, timebox_views

app_name = "tracker"
urlpatterns = [
    path("", issue_views.issue_list, name="issues"),
    path("file/", bug_views.file_bug, name="file_bug"),
    path("similar/", bug_views.similar, name="similar"),
    path("standup/", standup_views.board, name="standup"),
    path("<id:issue_id>/", issue_views.issue_page, name="issue"),
    path("<id:issue_id>/comment/", issue_views.comment, name="comment"),
    path("<id:issue_id>/labels/", issue_views.labels, name="labels"),
    path("<id:issue_id>/state/", issue_views.state, name="state"),
    path("<id:issue_id>/same-issue/", bug_views.same_issue, name="same_issue"),
    path("<id:issue_id>/move/<str:move>/", standup_views.move, name="move"),
    path("<id:issue_id>/acknowledge/", standup_views.acknowledge, name="acknowledge"),
    path("<id:issue_id>/archive/", bug_views.debug_archive, name="debug_archive"),
    path("<id:issue_id>/timebox/", timebox_views.timebox_panel, name="timebox_panel"),
    path("<id:issue_id>/timebox/start/", timebox_views.timebox_start, name="timebox_start"),
    path("timebox/<id:block_id>/stop/", timebox_views.timebox_stop, name="timebox_stop"),
    path("requests/", feature_views.request_list, name="feature_requests"),
    path("requests/new/", feature_views.new_request, name="new_feature_request"),
    path("<id:issue_id>/feature/", feature_views.feature_panel, name="feature_panel"),
    path(
        "<id:issue_id>/feature/prioritize/",
        feature_views.prioritize,
        name="feature_prioritize",
    ),
    path(
        "<id:issue_id>/feature/ask-for-feedback/",
        feature_views.ask_for_feedback,
        name="feature_ask_for_feedback",
    ),
    path("<id:issue_id>/feature/outcome/", feature_views.record_outcome, name="feature_outcome"),
    path(
        "<id:issue_id>/feature/accounts/",
        feature_views.link_account,
        name="feature_link_account",
    ),
]
