from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "example_projects.django_chat.chat"
    label = "chat"
