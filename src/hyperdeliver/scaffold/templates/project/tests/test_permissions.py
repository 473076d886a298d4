"""Every operation x every role (and anonymous callers, and cookie sessions without a
CSRF token): 401, 403 or allowed, as each operation's declared roles and the app's role
hierarchy say. Generated from the app itself, so a new operation is covered at once."""

from hyperdeliver.testing import permission_matrix

test_permission_matrix = permission_matrix()
