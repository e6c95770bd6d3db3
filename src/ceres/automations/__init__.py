"""Automation rules: when something happens (a message, a status change, an SLA warning or
breach), if its conditions hold, do the rule's actions. The handbook's Zapier flow for customer
Slack after hours is the shipped rule."""
