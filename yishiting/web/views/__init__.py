"""Views per role: resident, board, liaison, dispatcher, department, duty, leader."""
