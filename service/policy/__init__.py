"""The sharing-policy gateway: Cedar policies decide who receives an alert and what they see."""
