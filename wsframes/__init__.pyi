"""The public interface of :mod:`wsframes`, and the one table of its names.

Each line ``from <module> import <name> as <name>`` is a public name and the module defining it.
Type checkers and IDEs read this stub as the package; at run time :mod:`wsframes._exports` reads
it for ``__all__``, the lazy imports and the ``.ws`` methods. A new public name is one line here.
"""

from wsframes._config import Config as Config
from wsframes._config import ConfigOverrides as ConfigOverrides
from wsframes._load import load_activity as load_activity
from wsframes._version import __version__ as __version__
from wsframes.analysis import PeriodComparison as PeriodComparison
from wsframes.analysis import QuantileSketch as QuantileSketch
from wsframes.analysis import ReplacementPlan as ReplacementPlan
from wsframes.analysis import apdex as apdex
from wsframes.analysis import bandwidth_by as bandwidth_by
from wsframes.analysis import client_audit as client_audit
from wsframes.analysis import compare_periods as compare_periods
from wsframes.analysis import enrich as enrich
from wsframes.analysis import error_rate_over_time as error_rate_over_time
from wsframes.analysis import error_taxonomy as error_taxonomy
from wsframes.analysis import estimated_concurrency as estimated_concurrency
from wsframes.analysis import find_incidents as find_incidents
from wsframes.analysis import hourly_profile as hourly_profile
from wsframes.analysis import latency_ccdf as latency_ccdf
from wsframes.analysis import latency_histogram as latency_histogram
from wsframes.analysis import latency_over_time as latency_over_time
from wsframes.analysis import latency_summary as latency_summary
from wsframes.analysis import pool_health as pool_health
from wsframes.analysis import replacement_plan as replacement_plan
from wsframes.analysis import slo_attainment as slo_attainment
from wsframes.analysis import standing_problems as standing_problems
from wsframes.analysis import top_offenders as top_offenders
from wsframes.analysis import traffic_over_time as traffic_over_time
from wsframes.analysis import wilson_interval as wilson_interval
from wsframes.archive import archive_status as archive_status
from wsframes.archive import check_completeness as check_completeness
from wsframes.archive import scan_activity as scan_activity
from wsframes.archive import sync as sync
from wsframes.errors import APIError as APIError
from wsframes.errors import ArchiveError as ArchiveError
from wsframes.errors import AuthenticationError as AuthenticationError
from wsframes.errors import BadRequestError as BadRequestError
from wsframes.errors import ConfigurationError as ConfigurationError
from wsframes.errors import DamagedFileError as DamagedFileError
from wsframes.errors import IncompleteDataError as IncompleteDataError
from wsframes.errors import PermissionDeniedError as PermissionDeniedError
from wsframes.errors import RateLimitError as RateLimitError
from wsframes.errors import ReportError as ReportError
from wsframes.errors import ServerError as ServerError
from wsframes.errors import TransportError as TransportError
from wsframes.errors import WsframesError as WsframesError
from wsframes.fake import FakeWebshare as FakeWebshare
from wsframes.fake import generate_activity as generate_activity
from wsframes.frames import to_pandas as to_pandas
from wsframes.loader import Client as Client
from wsframes.pool import load_error_reasons as load_error_reasons
from wsframes.pool import load_proxies as load_proxies
from wsframes.pool import load_replaced_proxies as load_replaced_proxies
from wsframes.report import build_demo_report as build_demo_report
from wsframes.report import build_report as build_report
from wsframes.schema import ACTIVITY_SCHEMA as ACTIVITY_SCHEMA
from wsframes.schema import ERROR_CATALOGUE as ERROR_CATALOGUE
from wsframes.schema import describe_error as describe_error
from wsframes.schema import empty_activity as empty_activity
