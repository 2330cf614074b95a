"""AWS look-ups, changes and waits behind the action operators, one module per service.

The Amazon provider keeps AWS calls on its hooks so its operators stay a few lines; these modules
do the same for what a job needs beyond the provider's hooks: choosing resources by tag, checking
them before acting, backups and their rotation, and bounded waits that name what they wait for.
Each function takes the provider hook an operator built (so connection, region and retries are
the provider's), logs naming the resources, and fails with an AirflowException naming them.
"""
