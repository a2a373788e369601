"""Outbound notifications: chat robots, SMS and email (§6), as plain Python clients.

``channels`` holds one client per protocol; ``ratelimit`` plans what may be sent to one robot
now and folds the overflow into digests; ``testing`` has local fake servers for each robot.
Nothing here touches the database: the outbox that decides what to send lives elsewhere.
"""
