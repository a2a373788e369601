"""The pages' URLs (mounted at the site root)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from yishiting.web.views import (
    board,
    common,
    deliberation,
    department,
    dispatcher,
    duty,
    hotspots,
    leader,
    liaison,
    messages,
    resident,
)

app_name = "web"
urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="web/login.html"),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("w/", common.workspace, name="workspace"),
    path("h/<str:code>/", resident.hall_page, name="hall"),
    path("h/<str:code>/qr.svg", resident.qr_svg, name="hall-qr"),
    path("h/<str:code>/similar/", resident.similar, name="similar"),
    path("h/<str:code>/board/", board.board, name="board"),
    path("submitted/<str:code>/", resident.submitted, name="submitted"),
    path("my/", resident.my_requests, name="my"),
    path("follow/", resident.follow, name="follow"),
    path("r/<int:request_id>/", common.request_page, name="request"),
    path("r/<int:request_id>/do/<str:verb>/", common.act, name="act"),
    path("photos/<int:attachment_id>", common.photo, name="photo"),
    path("r/<int:request_id>/voice", common.voice, name="voice"),
    path("inbox/", liaison.inbox, name="inbox"),
    path("messages/", messages.messages, name="messages"),
    path("capture/", liaison.capture, name="capture"),
    path("capture/parse/", liaison.capture_parse, name="capture-parse"),
    path("dispatch/", dispatcher.console, name="dispatch"),
    path("dept/", department.workbench, name="dept"),
    path("duty/", duty.console, name="duty"),
    path("leader/", leader.dashboard, name="leader"),
    path("leader/requests/", leader.requests_list, name="leader-requests"),
    path("leader/wall/", leader.wall, name="leader-wall"),
    path("leader/figures/", leader.figures, name="leader-figures"),
    path("leader/rankings/", leader.rankings, name="leader-rankings"),
    path("leader/report/", leader.report_file, name="leader-report"),
    path("leader/hotspots/", hotspots.hotspots, name="leader-hotspots"),
    # deliberation (议事, §9)
    path("h/<str:code>/topics/", deliberation.topics, name="topics"),
    path("h/<str:code>/meetings/new/", deliberation.create_meeting, name="meeting-new"),
    path("h/<str:code>/matters/", deliberation.matters, name="matters"),
    path("topics/<int:topic_id>/", deliberation.topic_page, name="topic"),
    path("topics/<int:topic_id>/do/<str:verb>/", deliberation.topic_act, name="topic-act"),
    path("meetings/<int:meeting_id>/", deliberation.meeting_page, name="meeting"),
    path("meetings/<int:meeting_id>/qr.svg", deliberation.meeting_qr, name="meeting-qr"),
    path("meetings/<int:meeting_id>/do/<str:verb>/", deliberation.meeting_act, name="meeting-act"),
    path("projects/<int:project_id>/", deliberation.project_page, name="project"),
    path("projects/<int:project_id>/do/<str:verb>/", deliberation.project_act, name="project-act"),
    path("matters/<int:matter_id>/", deliberation.matter_page, name="matter"),
    path(
        "matters/<int:matter_id>/export.<str:fmt>", deliberation.matter_export, name="matter-export"
    ),
    path("late/", deliberation.late, name="late"),
    path("dphotos/<int:photo_id>", deliberation.photo, name="delib-photo"),
]
