from hyperdeliver.testing import permission_matrix

test_permission_matrix = permission_matrix()
