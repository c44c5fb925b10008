"""Code common to all services of the Jobcenter portal: config, messaging, logging, errors, fixtures.

It holds no business rules.
"""

import warnings

# nameko 2.14 needs eventlet, which warns on import that it is deprecated; the design pins both on
# purpose, so the warning would only bury real ones in every service's output.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
