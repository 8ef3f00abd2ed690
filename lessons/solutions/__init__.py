"""Solutions to the lessons' exercises, and wrong answers their checkers must refuse.

One module per lesson, ``lNN.py``, with ``SOLUTIONS = {name: answer}`` and
``WRONG = {name: [answer, ...]}``; ``tests/test_exercises.py`` grades every one. They
live outside the notebooks so that a learner meets the starter first.
"""
