import sys

from customer_health.server.cli.main import main

sys.exit(main())
