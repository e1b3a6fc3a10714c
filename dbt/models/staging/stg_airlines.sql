select
    carrier,
    name
from {{ source('raw', 'airlines') }}
